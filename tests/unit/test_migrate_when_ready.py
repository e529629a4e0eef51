"""`manage.py migrate_when_ready` migrates once the database answers, or fails."""

import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def migrate_when_ready(database_url: str, timeout: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "migrate_when_ready", "--timeout", timeout],
        cwd=ROOT,
        env=os.environ | {"DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        check=False,
    )


def test_it_applies_the_migrations(tmp_path: Path) -> None:
    database = tmp_path / "db.sqlite3"

    result = migrate_when_ready(f"sqlite:///{database}", "5")

    assert result.returncode == 0, result.stderr
    with sqlite3.connect(database) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert "tasks_taskrecord" in tables


def test_it_fails_naming_the_problem_when_nothing_answers() -> None:
    with socket.socket() as sock:  # a port that is bound but never listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        result = migrate_when_ready(f"postgres://u:p@127.0.0.1:{port}/db", "1")

    assert result.returncode != 0
    assert "database not reachable after 1.0 s" in result.stderr
