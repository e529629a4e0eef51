"""A task's own output: the lines it logs while it runs, kept per task, bounded, and
shown on its page and in its JSON as they arrive.

In the worker, OutputHandler sits on the root logger (and Celery's task logger, which
does not propagate): a line logged by the thread running a task goes into that
task's Capture, in memory, bounded to the last MAX_LINES lines or MAX_BYTES bytes and
counting the rest. Logging a line costs a lock and a deque append, never I/O: a
task that logs thousands of lines a second is not slowed by a round trip per line,
and nothing the task logs can block it. A flusher thread of the process sends what
is new to Redis every FLUSH_SECONDS, in one MULTI (a list per task, trimmed to what
the Capture keeps, and a hash of counters), so readers see at most a quarter of a
second late. When the run ends (task_postrun) the Capture is written to the
database once (TaskOutput), and the Redis copy expires soon after.

Redis trouble never reaches the task: a failed send is logged and the next one
sends everything again; readers that cannot reach Redis say "output unavailable".
The database copy at the end comes from memory, so it is complete anyway.

Readers (the detail page, its poll, the JSON) call `shown(record)`.
"""

import logging
import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import redis
from celery.signals import task_postrun, task_prerun
from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone
from redis.exceptions import RedisError

from webapp.tasks.models import TaskOutput, TaskRecord

logger = logging.getLogger(__name__)

MAX_LINES = 200
MAX_BYTES = 64 * 1024
# A longer line keeps its start; the rest counts as dropped bytes.
MAX_LINE_BYTES = 8 * 1024
FLUSH_SECONDS = 0.25
# A running task's lines stay in Redis this long after its last line; once its
# output is in the database, only long enough for a poll in flight to read them.
LIVE_SECONDS = 24 * 3600
ENDED_SECONDS = 300
LIVE_AGE = timedelta(seconds=LIVE_SECONDS)
# A finished task whose final lines are not in yet (its worker is writing them)
# keeps its page polling this long at most.
SETTLE_SECONDS = 10

FORMAT = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S")
FORMAT.converter = time.gmtime


@dataclass
class Output:
    """What a reader is shown of a task's output."""

    lines: list[str] = field(default_factory=list)
    dropped_lines: int = 0
    dropped_bytes: int = 0
    # False when Redis could not be read: the lines may exist but cannot be shown.
    available: bool = True
    # The run ended and its worker has written all of it.
    final: bool = False
    # Changes whenever the lines do, for the page's poll (see web/answers.render_detail).
    version: str = ""
    # Finished, but the last lines may still come: the page keeps polling a moment.
    settling: bool = False

    @property
    def truncated(self) -> bool:
        return self.dropped_lines > 0 or self.dropped_bytes > 0

    def as_json(self) -> dict[str, object]:
        return {
            "lines": self.lines,
            "dropped_lines": self.dropped_lines,
            "dropped_bytes": self.dropped_bytes,
            "truncated": self.truncated,
            "available": self.available,
        }


# --- Capture, in the worker --------------------------------------------------------


class Capture:
    """The bounded output of one run of a task, in the process that runs it."""

    def __init__(self, task_id: str, earlier: Output | None = None) -> None:
        self.task_id = task_id
        self.lock = threading.Lock()
        self.sending = threading.Lock()  # one send at a time: flusher or the run's end
        self.lines: deque[str] = deque()
        self.sizes: deque[int] = deque()
        self.size = 0
        self.dropped_lines = 0
        self.dropped_bytes = 0
        self.seq = 0  # lines added, ever: the version readers see
        self.unsent = 0  # the newest lines not in Redis yet
        self.synced = False  # Redis holds exactly what was sent (else: send all)
        if earlier is not None:  # an earlier attempt's, continued by this one
            for line in earlier.lines:
                self.add(line)
            self.dropped_lines += earlier.dropped_lines
            self.dropped_bytes += earlier.dropped_bytes

    def add(self, line: str) -> None:
        encoded = line.encode("utf-8", "replace")
        if len(encoded) > MAX_LINE_BYTES:
            cut = len(encoded) - MAX_LINE_BYTES
            line = encoded[:MAX_LINE_BYTES].decode("utf-8", "ignore") + f"… [{cut} bytes cut]"
            encoded = line.encode("utf-8", "replace")
            with self.lock:
                self.dropped_bytes += cut
        with self.lock:
            self.lines.append(line)
            self.sizes.append(len(encoded))
            self.size += len(encoded)
            self.seq += 1
            self.unsent += 1
            while len(self.lines) > MAX_LINES or self.size > MAX_BYTES:
                self.lines.popleft()
                dropped = self.sizes.popleft()
                self.size -= dropped
                self.dropped_lines += 1
                self.dropped_bytes += dropped
            self.unsent = min(self.unsent, len(self.lines))

    def snapshot(self) -> Output:
        with self.lock:
            return Output(list(self.lines), self.dropped_lines, self.dropped_bytes)

    @property
    def dirty(self) -> bool:
        return self.unsent > 0 or not self.synced

    def send(self, ended: bool = False) -> bool:
        """Bring the Redis copy up to date; False (logged) if Redis is unreachable."""
        with self.sending:
            with self.lock:
                resync = not self.synced
                new = list(self.lines)[len(self.lines) - self.unsent :] if not resync else []
                kept = list(self.lines) if resync else []
                count = len(self.lines)
                counters: dict[Any, int] = {
                    "seq": self.seq,
                    "dropped_lines": self.dropped_lines,
                    "dropped_bytes": self.dropped_bytes,
                    "ended": int(ended),
                }
                self.unsent = 0
            lines, meta = keys_of(self.task_id)
            expiry = ENDED_SECONDS if ended else LIVE_SECONDS
            try:
                with client().pipeline(transaction=True) as pipe:
                    if resync:
                        pipe.delete(lines)
                        new = kept
                    if new:
                        pipe.rpush(lines, *new)
                    # Redis keeps what the Capture keeps: the last `count` lines sent.
                    if count:
                        pipe.ltrim(lines, -count, -1)
                    else:
                        pipe.delete(lines)
                    pipe.hset(meta, mapping=counters)
                    pipe.expire(lines, expiry)
                    pipe.expire(meta, expiry)
                    pipe.execute()
            except RedisError as exc:
                self.synced = False
                logger.warning("could not send the output of task %s: %s", self.task_id, exc)
                return False
            self.synced = True
            return True


# Running captures of this process, by the thread that runs their task (a prefork
# process runs one task at a time; a thread pool several).
_captures: dict[int, Capture] = {}


class OutputHandler(logging.Handler):
    """Puts each line logged by a thread that runs a task into that task's Capture."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.setFormatter(FORMAT)

    def emit(self, record: logging.LogRecord) -> None:
        capture = _captures.get(threading.get_ident())
        # The handler sits on two loggers, one of which may propagate to the other.
        if capture is None or getattr(record, "task_output_kept", False):
            return
        setattr(record, "task_output_kept", True)  # noqa: B010  # LogRecord's type has no such field
        try:
            capture.add(self.format(record))
        except Exception:
            self.handleError(record)


_handler = OutputHandler()


def flush_forever(stop: threading.Event) -> None:
    while not stop.wait(FLUSH_SECONDS):
        for capture in list(_captures.values()):
            if capture.dirty:
                try:
                    capture.send()
                except Exception:  # the thread goes on for the other tasks' lines
                    logger.exception("could not send the output of task %s", capture.task_id)


# (process id, thread): a forked pool process starts a flusher of its own.
_flusher: tuple[int, threading.Thread] | None = None


def start_flusher() -> None:
    global _flusher
    if _flusher is not None and _flusher[0] == os.getpid() and _flusher[1].is_alive():
        return
    thread = threading.Thread(
        target=flush_forever, args=(threading.Event(),), name="task-output", daemon=True
    )
    thread.start()
    _flusher = (os.getpid(), thread)


def install_handler() -> None:
    for name in ("", "celery.task"):
        log = logging.getLogger(name)
        if _handler not in log.handlers:
            log.addHandler(_handler)


@task_prerun.connect
def start_capture(sender: Any = None, task_id: str = "", task: Any = None, **kwargs: Any) -> None:
    """Capture the run's lines: any task, since any task but Celery's own plumbing
    may have a record (ours, and those running/seen.py lists); one without keeps nothing."""
    name = str(getattr(task, "name", "") or "")
    if not task_id or name.startswith("celery."):
        return
    request = getattr(task, "request", None)
    delivery = getattr(request, "delivery_info", None) or {}
    earlier = None
    if getattr(request, "retries", 0) or delivery.get("redelivered"):
        earlier = kept(task_id)  # a retry goes on from where the last attempt ended
    install_handler()
    _captures[threading.get_ident()] = Capture(task_id, earlier)
    start_flusher()


@task_postrun.connect
def end_capture(sender: Any = None, task_id: str = "", **kwargs: Any) -> None:
    """The run ended: its output into the database, once, and Redis told so."""
    capture = _captures.pop(threading.get_ident(), None)
    if capture is None or capture.seq == 0:
        return  # nothing logged: nothing to keep
    final = capture.snapshot()
    try:
        stored = TaskOutput.keep(task_id, final.lines, final.dropped_lines, final.dropped_bytes)
    except DatabaseError:
        # Redis keeps the lines for LIVE_SECONDS instead: readers fall back to them.
        logger.exception("could not keep the output of task %s", task_id)
        capture.send()
        return
    if stored:
        capture.send(ended=True)
    else:  # no record to show it: Celery's plumbing, or a task deleted while it ran
        forget(task_id)


def forget(task_id: str) -> None:
    try:
        client().delete(*keys_of(task_id))
    except RedisError as exc:
        logger.warning("could not remove the output of task %s: %s", task_id, exc)


# --- Reading -------------------------------------------------------------------------


_client: tuple[int, redis.Redis] | None = None


def client() -> redis.Redis:
    """This process's Redis client (a forked process makes its own)."""
    global _client
    if _client is None or _client[0] != os.getpid():
        connection = redis.Redis.from_url(
            settings.REDIS_URL,
            socket_timeout=settings.BROKER_SOCKET_TIMEOUT,
            socket_connect_timeout=settings.BROKER_SOCKET_TIMEOUT,
        )
        _client = (os.getpid(), connection)
    return _client[1]


def keys_of(task_id: str) -> tuple[str, str]:
    return f"task-output:{task_id}", f"task-output:{task_id}:meta"


def live(task_id: str) -> Output | None:
    """The lines in Redis, None if there are none, or Output(available=False)."""
    lines_key, meta_key = keys_of(task_id)
    try:
        with client().pipeline(transaction=True) as pipe:
            pipe.lrange(lines_key, 0, -1)
            pipe.hgetall(meta_key)
            lines, meta = pipe.execute()
    except RedisError as exc:
        logger.warning("could not read the output of task %s: %s", task_id, exc)
        return Output(available=False, version="unavailable")
    if not meta:
        return None
    counters = {key.decode(): int(value) for key, value in meta.items()}
    return Output(
        [line.decode("utf-8", "replace") for line in lines],
        counters.get("dropped_lines", 0),
        counters.get("dropped_bytes", 0),
        final=bool(counters.get("ended")),
        version=f"live-{counters.get('seq', 0)}-{counters.get('ended', 0)}",
    )


def kept(task_id: str) -> Output | None:
    return _as_output(TaskOutput.objects.filter(task__task_id=task_id).first())


def kept_of(record: TaskRecord) -> Output | None:
    """The stored output of `record`: no query when it was read with
    select_related("output"), as the detail views read it."""
    try:
        return _as_output(record.output)
    except TaskOutput.DoesNotExist:
        return None


def _as_output(row: TaskOutput | None) -> Output | None:
    if row is None:
        return None
    return Output(row.lines, row.dropped_lines, row.dropped_bytes, final=True, version="kept")


def shown(record: TaskRecord) -> Output:
    """The output of `record` as its readers see it: a finished run's from the
    database, a running one's from Redis; nothing for a task that never started."""
    nothing = Output(final=record.is_finished, version="none")
    if record.started_at is None and not record.attempts:
        return nothing
    stored = kept_of(record)
    if record.is_finished:
        if stored is not None:
            return stored
        # Its worker may not have written it yet, or never will (a process killed at
        # the hard time limit): Redis has the lines it sent, for LIVE_SECONDS.
        if record.finished_at and record.finished_at < timezone.now() - LIVE_AGE:
            return nothing
    current = live(str(record.task_id))
    if current is None:
        # Between attempts (a retry waiting), or a run that logged nothing.
        return stored or nothing
    if record.is_finished and not current.final and current.available:
        recently = timezone.now() - timedelta(seconds=SETTLE_SECONDS)
        current.settling = bool(record.finished_at and record.finished_at > recently)
    return current
