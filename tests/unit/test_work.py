"""Task bodies, run as plain functions."""

from webapp.tasks import work
from webapp.tasks.kinds import Kind


def test_instant_kind_finishes_at_once_without_progress_reports() -> None:
    reported: list[int] = []

    result = work.run(Kind.INSTANT, scale=1.0, report=reported.append)

    assert reported == []  # mark_succeeded sets progress to 100
    assert result == {"slept_seconds": 0.0, "steps": 1}


def test_kinds_report_rising_progress_up_to_100() -> None:
    reported: list[int] = []

    result = work.run(Kind.LONG, scale=0.001, report=reported.append)

    assert reported == list(range(5, 101, 5))
    assert result == {"slept_seconds": 0.03, "steps": work.STEPS}


def test_seed_durations_are_type_times_ten_seconds() -> None:
    seed_kinds = [Kind.INSTANT, Kind.SHORT, Kind.MEDIUM, Kind.LONG]
    assert [kind.seconds for kind in seed_kinds] == [0.0, 10.0, 20.0, 30.0]
