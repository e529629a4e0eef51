"""`python -m bench.export`: the streamed export of a long history, measured.

A private stack (Redis, gunicorn as deployed, one worker so that its memory is the
export's) on a SQLite history filled with --rows finished tasks. Each file is
downloaded whole, then compared with a floor measured in the same run: reading the
same rows in the same keyset chunks with the ORM (values_list) and nothing else, in
a process of its own. Also the gunicorn worker's peak memory after a small export
and after the long ones, which the streaming keeps level.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.fill import fill_history  # noqa: E402
from realstack import Stack, free_port, start_redis, start_web  # noqa: E402

# The floor: the rows read as the export reads them, and dropped.
FLOOR = """
import time
import django
django.setup()
from webapp.tasks.models import TaskRecord
fields = [f.attname for f in TaskRecord._meta.concrete_fields]
started, last, rows = time.perf_counter(), None, 0
while True:
    tasks = TaskRecord.objects.order_by("-id")
    chunk = list((tasks if last is None else tasks.filter(id__lt=last)).values_list(*fields)[:2000])
    if not chunk:
        break
    rows, last = rows + len(chunk), chunk[-1][0]
print(rows, time.perf_counter() - started)
"""


def log(message: str) -> None:
    print(f"[export {time.strftime('%H:%M:%S')}] {message}", flush=True)


def peak_kb(master: int) -> int:
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == master:
                status = (stat.parent / "status").read_text()
                match = re.search(r"^VmHWM:\s+(\d+)", status, re.MULTILINE)
                return int(match[1]) if match else 0
        except OSError:
            continue
    return 0


def download(url: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, float]:
    """Bytes received and seconds taken for one whole file."""
    started, size = time.perf_counter(), 0
    # The timeout is per read: a file may take minutes, each piece of it must not.
    with (
        httpx.Client(timeout=60) as client,
        client.stream("GET", url, params=params, headers=headers) as response,
    ):
        response.raise_for_status()
        for piece in response.iter_raw():
            size += len(piece)
    return size, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="tasks in the history")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="bench-export-"))
    redis_port, web_port = free_port(), free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{directory / 'db.sqlite3'}",
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "STATIC_ROOT": str(directory / "static"),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "GUNICORN_ACCESSLOG": "",
    }
    stack = Stack(url=f"http://127.0.0.1:{web_port}", env=env, directory=directory)
    stack.cleanups.append(lambda: shutil.rmtree(directory, ignore_errors=True))
    try:
        start_redis(stack, redis_port)
        stack.manage("migrate", "--noinput", "-v", "0")
        log(f"filling {args.rows:,} finished tasks")
        fill_history(directory / "db.sqlite3", args.rows)
        web = start_web(stack, web_port, env=env, workers=1)
        url = f"{stack.url}/tasks/"
        download(url, {"format": "csv", "status": "FAILURE"}, {})  # warm: imports, no rows
        small = peak_kb(web.process.pid)
        floor = subprocess.run(
            [sys.executable, "-c", FLOOR],
            cwd=ROOT,
            env=env | {"DJANGO_SETTINGS_MODULE": "webapp.settings", "PYTHONPATH": str(ROOT)},
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        floor_seconds = float(floor[1])
        log(f"floor: {int(floor[0]):,} rows read with values_list in {floor_seconds:.1f} s")
        for name, params, headers in [
            ("CSV", {"format": "csv"}, {"Accept-Encoding": "identity"}),
            ("CSV, gzip", {"format": "csv"}, {"Accept-Encoding": "gzip"}),
            ("JSON Lines", {"format": "jsonl"}, {"Accept-Encoding": "identity"}),
        ]:
            size, seconds = download(url, params, headers)
            log(
                f"{name}: {size / 1e6:.0f} MB in {seconds:.1f} s, "
                f"{args.rows / seconds:,.0f} rows/s, {seconds / floor_seconds:.1f}x the floor"
            )
        log(
            f"gunicorn worker's peak memory: {small / 1024:.0f} MB after an empty export, "
            f"{peak_kb(web.process.pid) / 1024:.0f} MB after {args.rows:,} rows (x3)"
        )
        timeout = os.environ.get("GUNICORN_TIMEOUT", "30")
        log(f"no worker was killed (gunicorn timeout {timeout} s): {'TIMEOUT' not in web.log()}")
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
