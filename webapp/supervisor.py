"""Run the Procfile's processes in the foreground and stop them in order (`make run`).

A terminal's Ctrl-C reaches its whole foreground process group at once: Redis
would die under a worker still finishing tasks, and the worker's pool processes
would get the signal directly, killing the tasks they run. So each process runs in
a session of its own and only this supervisor hears the terminal. It starts Redis
first (when the Procfile's `redis` is asked for) and waits for it to answer, then
the workers (`worker`, and `worker_<queue>` for the other queues), then the rest; on
SIGINT or SIGTERM it stops what answers people (web, Flower, beat ...) first, then the
workers, each warm: it finishes what it runs for up to
WORKER_SHUTDOWN_TIMEOUT seconds, then cancels the rest, whose messages go back to
Redis (and whose records say so: tasks.TaskRequest.cancel). Redis stops last; with
appendonly, what it holds is there on the next start. A second Ctrl-C cuts the
worker's wait short.

Usage: python -m webapp.supervisor [PROCFILE_NAME ...]   (all of them by default)
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
PROCFILE = ROOT / "Procfile"
# How long a process other than the worker may take to stop before it is killed.
STOP_TIMEOUT = 10.0
# After the worker's warm shutdown timed out: time for its cold shutdown.
COLD_STOP_TIMEOUT = 15.0


@dataclass
class Process:
    name: str
    command: str
    popen: subprocess.Popen[bytes] | None = None
    readers: list[threading.Thread] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal(self, signum: int, group: bool = False) -> None:
        """Send `signum` to the process, or to its whole process group."""
        if self.popen is None:
            return
        try:
            if group:
                os.killpg(self.popen.pid, signum)
            else:
                self.popen.send_signal(signum)
        except ProcessLookupError:
            pass

    def wait(self, timeout: float) -> bool:
        """Whether it exited within `timeout` seconds."""
        if self.popen is None:
            return True
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True


def read_procfile(path: Path) -> list[tuple[str, str]]:
    """(name, command) for each `name: command` line, in order."""
    entries = []
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, separator, command = line.partition(":")
        if not separator or not name.strip().isidentifier():
            raise SystemExit(f"{path}: not a `name: command` line: {line!r}")
        entries.append((name.strip(), command.strip()))
    return entries


def is_worker(name: str) -> bool:
    """`worker` serves the default queue, `worker_<queue>` another one."""
    return name == "worker" or name.startswith("worker_")


def start_order(names: list[str]) -> list[str]:
    """Redis, then the workers, then the rest, each in Procfile order; stopped in reverse."""
    redis = [name for name in names if name == "redis"]
    workers = [name for name in names if is_worker(name)]
    return redis + workers + [n for n in names if n != "redis" and not is_worker(n)]


def stop_order(names: list[str]) -> list[str]:
    return list(reversed(start_order(names)))


class Supervisor:
    def __init__(self, processes: list[Process], out: IO[str] = sys.stdout) -> None:
        self.processes = {process.name: process for process in processes}
        self.out = out
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.hurry = threading.Event()
        self.width = max(len(name) for name in self.processes)
        self.worker_shutdown_timeout = float(os.environ.get("WORKER_SHUTDOWN_TIMEOUT", "10"))

    def say(self, name: str, text: str) -> None:
        with self.lock:
            self.out.write(f"{time.strftime('%H:%M:%S')} {name:<{self.width}} | {text}\n")
            self.out.flush()

    def start(self, process: Process) -> None:
        # `exec env` makes the command's own program the process signalled (no shell
        # in between), and still allows a leading VAR=value.
        process.popen = subprocess.Popen(
            ["/bin/sh", "-c", f"exec env {process.command}"],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        assert process.popen.stdout is not None
        reader = threading.Thread(
            target=self.relay, args=(process.name, process.popen.stdout), daemon=True
        )
        reader.start()
        process.readers.append(reader)
        self.say(process.name, f"started with pid {process.popen.pid}")

    def relay(self, name: str, output: IO[bytes]) -> None:
        for raw in output:
            self.say(name, raw.decode(errors="replace").rstrip("\n"))

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.stopping.is_set():
            self.hurry.set()
        self.stopping.set()

    def run(self) -> int:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self.on_signal)
        code = 0
        try:
            for name in start_order(list(self.processes)):
                if self.stopping.is_set():
                    break
                self.start(self.processes[name])
                if name == "redis":
                    self.wait_for_redis()
            while not self.stopping.wait(0.2):
                exited = [p for p in self.processes.values() if p.popen and not p.running]
                if exited:
                    for process in exited:
                        assert process.popen is not None
                        self.say(process.name, f"exited with code {process.popen.returncode}")
                    code = 1
                    break
        finally:
            self.stop_all()
        return code

    def wait_for_redis(self) -> None:
        port = int(os.environ.get("REDIS_PORT", "6380"))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not self.stopping.is_set():
            if not self.processes["redis"].running:
                return  # reported by the main loop
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.1)

    def stop_all(self) -> None:
        for name in stop_order(list(self.processes)):
            process = self.processes[name]
            if is_worker(name):
                self.stop_worker(process)
            else:
                self.stop(process)
            # Whatever is left of its group (gunicorn workers, a pool process).
            process.signal(signal.SIGKILL, group=True)
            for reader in process.readers:
                reader.join(timeout=2)
        self.say("stack", "stopped")

    def stop(self, process: Process) -> None:
        if not process.running:
            return
        self.say(process.name, "stopping")
        process.signal(signal.SIGTERM, group=True)
        if not process.wait(STOP_TIMEOUT):
            self.say(process.name, f"still running after {STOP_TIMEOUT:.0f} s: killed")
            process.signal(signal.SIGKILL, group=True)
            process.wait(STOP_TIMEOUT)

    def stop_worker(self, process: Process) -> None:
        """Warm shutdown (SIGTERM to the main process only: the pool processes finish
        their tasks), bounded; then cold (SIGQUIT), which cancels what still runs
        and gives it back to the queue."""
        if not process.running:
            return
        timeout = self.worker_shutdown_timeout
        self.say(process.name, f"stopping: running tasks have {timeout:.0f} s to finish")
        process.signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.hurry.is_set():
            if process.wait(0.2):
                return
        self.say(process.name, "cancelling the tasks still running: they go back to the queue")
        process.signal(signal.SIGQUIT)
        if not process.wait(COLD_STOP_TIMEOUT):
            self.say(process.name, f"still running after {COLD_STOP_TIMEOUT:.0f} s: killed")
            process.signal(signal.SIGKILL, group=True)
            process.wait(STOP_TIMEOUT)


def main(argv: list[str]) -> int:
    entries = read_procfile(PROCFILE)
    wanted = argv or [name for name, _ in entries]
    unknown = set(wanted) - {name for name, _ in entries}
    if unknown:
        raise SystemExit(f"not in {PROCFILE.name}: {', '.join(sorted(unknown))}")
    processes = [Process(name, command) for name, command in entries if name in wanted]
    return Supervisor(processes).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
