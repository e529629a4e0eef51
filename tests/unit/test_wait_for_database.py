"""`manage.py wait_for_database` returns once the database answers, or fails."""

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def wait_for_database(
    database_url: str, timeout: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "wait_for_database", "--timeout", timeout],
        cwd=ROOT,
        env=os.environ | {"DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        check=False,
    )


def test_it_returns_when_the_database_answers(tmp_path: Path) -> None:
    result = wait_for_database(f"sqlite:///{tmp_path / 'db.sqlite3'}", "5")

    assert result.returncode == 0, result.stderr
    assert "ready" in result.stdout


def test_it_fails_naming_the_problem_when_nothing_answers() -> None:
    with socket.socket() as sock:  # a port that is bound but never listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        result = wait_for_database(f"postgres://u:p@127.0.0.1:{port}/db", "1")

    assert result.returncode != 0
    assert "database not reachable after 1.0 s" in result.stderr
