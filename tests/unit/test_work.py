"""Task bodies, run as plain functions."""

from webapp.tasks.catalogue import bodies
from webapp.tasks.catalogue.kinds import Kind


def test_instant_kind_finishes_at_once_without_progress_reports() -> None:
    reported: list[int] = []

    result = bodies.run(Kind.INSTANT, scale=1.0, report=reported.append)

    assert reported == []  # mark_succeeded sets progress to 100
    assert result == {"slept_seconds": 0.0, "steps": 1}


def test_kinds_report_rising_progress_up_to_100() -> None:
    reported: list[int] = []

    result = bodies.run(Kind.LONG, scale=0.001, report=reported.append)

    assert reported == list(range(5, 101, 5))
    assert result == {"slept_seconds": 0.03, "steps": bodies.STEPS}


def test_seed_durations_are_type_times_ten_seconds() -> None:
    seed_kinds = [Kind.INSTANT, Kind.SHORT, Kind.MEDIUM, Kind.LONG]
    assert [kind.seconds for kind in seed_kinds] == [0.0, 10.0, 20.0, 30.0]


def test_the_notify_kind_says_what_it_sent() -> None:
    seen: list[int] = []

    result = bodies.run(Kind.NOTIFY, scale=0.0001, report=seen.append)

    assert result["sent"] == "notification"
    assert seen[-1] == 100


def test_only_the_notify_kind_is_not_safe_to_repeat() -> None:
    assert [kind for kind in Kind if not kind.safe_to_repeat] == [Kind.NOTIFY]
