"""The supervisor behind `make run`: which processes start first and stop last."""

from pathlib import Path

import pytest

from webapp.supervisor import PROCFILE, read_procfile, start_order, stop_order


def test_redis_starts_first_and_stops_last_and_the_worker_stops_after_web() -> None:
    names = ["redis", "web", "worker", "flower", "beat"]

    assert start_order(names) == ["redis", "worker", "web", "flower", "beat"]
    assert stop_order(names) == ["beat", "flower", "web", "worker", "redis"]


def test_every_queue_worker_starts_after_redis_and_stops_after_web() -> None:
    names = ["redis", "web", "worker", "worker_cpu", "flower"]

    assert start_order(names) == ["redis", "worker", "worker_cpu", "web", "flower"]
    assert stop_order(names) == ["flower", "web", "worker_cpu", "worker", "redis"]


def test_without_redis_the_worker_stops_last() -> None:
    assert stop_order(["web", "worker", "flower"]) == ["flower", "web", "worker"]


def test_it_reads_the_procfile_in_order() -> None:
    names = [name for name, _ in read_procfile(PROCFILE)]

    assert names[:5] == ["redis", "web", "worker", "worker_cpu", "flower"]


def test_a_line_that_is_not_name_colon_command_is_refused(tmp_path: Path) -> None:
    procfile = tmp_path / "Procfile"
    procfile.write_text("web: gunicorn\n# a comment\n\nnot a process line\n")

    with pytest.raises(SystemExit, match="not a `name: command` line"):
        read_procfile(procfile)
