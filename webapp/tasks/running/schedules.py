"""Periodic schedules: a catalogue entry launched every N seconds, minutes or hours, or
on a cron expression, with set parameters, as the schedule's owner.

The timing lives in django-celery-beat's tables, which beat's DatabaseScheduler reads.
Every write here goes through PeriodicTask.save() or .delete(), whose signals bump
PeriodicTasks.changed: beat sees the change at its next tick (at most --max-interval
later) and rereads its schedule, without a restart. (A queryset .update() would not
bump it.) Beat sends `tasks.launch_scheduled` with the schedule's id; a worker then
launches the run through the dashboard's own path (tasks.launch): a PENDING record
owned by the schedule's owner and linked to the schedule, then its message.
"""

import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from celery import shared_task
from celery.schedules import crontab
from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from webapp.tasks.catalogue.entries import InvalidParams, Params, entry_of
from webapp.tasks.catalogue.kinds import Kind
from webapp.tasks.models import Schedule, TaskRecord
from webapp.tasks.tasks import launch
from webapp.tasks.web.inputs import FORM_TYPES, form_values, json_object, parse_kind, read_field
from webapp.tasks.web.representations import BadInput

logger = logging.getLogger(__name__)

LAUNCHER = "tasks.launch_scheduled"
PERIODS = ("seconds", "minutes", "hours", "days")
PERIOD_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
MAX_EVERY = 1_000_000
# A schedule's fields; in a form, every other field is a parameter of its entry.
SCHEDULE_FIELDS = ("type", "every", "period", "cron", "enabled")
FORM_ONLY_FIELDS = frozenset({"csrfmiddlewaretoken", "next"})
CRON_EXAMPLE = "*/5 * * * *"
CRON_PARTS = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")
# A launch message that waited longer than this (workers down) is dropped rather than
# run late: a backlog must not become a burst of runs when the workers come back.
MIN_EXPIRE_SECONDS = 60
CRON_EXPIRE_SECONDS = 300
RECENT_RUNS = 20


class ScheduleRefused(BadInput):
    """A schedule refused as sent: `errors` maps each field (or parameter) to why."""

    def __init__(self, errors: dict[str, str]) -> None:
        said = list(errors.values())
        more = f" And {len(said) - 3} more." if len(said) > 3 else ""
        super().__init__(" ".join(said[:3]) + more)
        self.errors = errors


@dataclass
class Sent:
    """What a client sent: the schedule's fields, and the parameters if any."""

    fields: dict[str, object]
    params: dict[str, object] | None
    from_form: bool


@dataclass
class ScheduleData:
    """A schedule as it is to be stored: checked and complete."""

    kind: Kind
    params: Params
    enabled: bool
    every: int | None = None
    period: str = "seconds"
    cron: str = ""
    errors: dict[str, str] = field(default_factory=dict)


# --- Reading what a client sent -------------------------------------------------------


def read_sent(request: Any) -> Sent:
    """The fields of a form or JSON body, refusing bodies that can't be read (4xx)."""
    read_field(request, "every")  # a body too large or of another type: 413, 415
    if request.content_type == "application/json":
        body = json_object(request, "type")
        unknown = sorted(set(body) - {*SCHEDULE_FIELDS, "params"})
        if unknown:
            name = unknown[0] if len(unknown[0]) <= 20 else unknown[0][:20] + "…"
            raise ScheduleRefused(
                {
                    name: f"A schedule has no field {name!r}; send `type`, `params`, "
                    "`every` with `period`, or `cron`, and `enabled` (parameters go "
                    "inside `params`)."
                }
            )
        params = body.get("params")
        if params is not None and not isinstance(params, dict):
            raise ScheduleRefused({"params": "`params` must be a JSON object."})
        sent = {name: body[name] for name in SCHEDULE_FIELDS if name in body}
        return Sent(sent, params, from_form=False)
    fields: dict[str, object] = {}
    given: dict[str, object] = {}
    if request.content_type in FORM_TYPES:
        for name in request.POST:
            values = form_values(request, name)
            if len(values) > 1:
                raise BadInput(f"Send one `{name[:20]}`, not {len(values)}.")
            if name in SCHEDULE_FIELDS:
                # An empty form field means "not given", as a form sends them all.
                if values[0].strip():
                    fields[name] = values[0].strip()
            elif name not in FORM_ONLY_FIELDS:
                given[name] = values[0]
    return Sent(fields, given or None, from_form=True)


def checked(sent: Sent, current: Schedule | None) -> ScheduleData:
    """The schedule to store: `sent` over `current` (what is not sent stays), or
    ScheduleRefused naming every field that is wrong."""
    errors: dict[str, str] = {}
    fields = sent.fields
    kind = Kind(current.kind) if current else None
    if "type" in fields or current is None:
        try:
            kind = parse_kind(fields.get("type"))
        except BadInput as exc:
            errors["type"] = exc.message
    params: Params = {}
    if kind is not None:
        entry = entry_of(kind)
        if sent.params is not None:
            try:
                params = entry.validate(sent.params, from_form=sent.from_form)
            except InvalidParams as exc:
                errors.update(exc.errors)
        elif current is not None and kind == current.kind:
            params = dict(current.params)
        else:
            params = entry.defaults
    data = ScheduleData(kind=kind or Kind.INSTANT, params=params, enabled=True)
    if current is not None:
        data.enabled = current.periodic_task.enabled
        data.every, data.period, data.cron = cadence_of(current.periodic_task)
    if "enabled" in fields:
        enabled = read_bool(fields["enabled"])
        if enabled is None:
            errors["enabled"] = "`enabled` must be true or false."
        else:
            data.enabled = enabled
    errors.update(check_cadence(fields, data, creating=current is None))
    if errors:
        raise ScheduleRefused(errors)
    return data


def check_cadence(fields: dict[str, object], data: ScheduleData, creating: bool) -> dict[str, str]:
    """Set `data`'s cadence from `fields`; what is wrong with them, by field."""
    # A form always sends `period` (a select): beside `cron` alone, it means nothing.
    interval_sent = "every" in fields or ("period" in fields and "cron" not in fields)
    if "cron" in fields and interval_sent:
        both = "Give either `every` (with `period`) or `cron`, not both."
        return {"cron": both, "every": both}
    if "cron" in fields:
        cron = fields["cron"]
        problem = cron_problem(cron)
        if problem:
            return {"cron": problem}
        data.cron, data.every = " ".join(str(cron).split()), None
        return {}
    if not interval_sent:
        if creating:
            return {
                "every": "Give `every` (with `period`) or `cron`, e.g. every=10 period=seconds."
            }
        return {}
    errors = {}
    every = fields.get("every", data.every)
    number = read_count(every)
    if number is None:
        errors["every"] = f"`every` must be a whole number from 1 to {MAX_EVERY}."
    period = fields.get("period", data.period if data.every else "seconds")
    if period not in PERIODS:
        errors["period"] = f"`period` must be one of {', '.join(PERIODS)}."
    if not errors:
        data.every, data.period, data.cron = number, str(period), ""
    return errors


def read_count(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not (text.isascii() and text.isdigit() and len(text) < 10):
            return None
        value = int(text)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and 1 <= value <= MAX_EVERY:
        return value
    return None


def read_bool(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "on", "yes", "1"):
        return True
    if isinstance(value, str) and value.lower() in ("false", "off", "no", "0"):
        return False
    return None


def cron_problem(value: object) -> str:
    """Why a cron expression is refused, or "" if celery's crontab reads it."""
    accepts = (
        "`cron` must be five fields (minute hour day-of-month month day-of-week), "
        f"as in {CRON_EXAMPLE!r}"
    )
    if not isinstance(value, str) or len(value) > 200:
        return f"{accepts}."
    parts = value.split()
    shown = value if len(value) <= 40 else value[:40] + "…"
    if len(parts) != len(CRON_PARTS):
        return f"{accepts}; got {len(parts)} in {shown!r}."
    try:
        crontab(**dict(zip(CRON_PARTS, parts, strict=True)))
    except (ValueError, IndexError, KeyError, TypeError) as exc:
        return f"{accepts}; {shown!r} does not parse: {exc}."
    return ""


# --- Writing: every change goes through PeriodicTask.save() or .delete() ---------------


def cadence_of(task: PeriodicTask) -> tuple[int | None, str, str]:
    """(every, period, cron) of a PeriodicTask: an interval, or a cron expression."""
    if task.interval_id is not None:
        return task.interval.every, task.interval.period, ""
    if task.crontab_id is not None:
        c = task.crontab
        return (
            None,
            "seconds",
            " ".join((c.minute, c.hour, c.day_of_month, c.month_of_year, c.day_of_week)),
        )
    return None, "seconds", ""


@transaction.atomic
def save_schedule(
    data: ScheduleData, owner: Any = None, current: Schedule | None = None
) -> Schedule:
    """Create or update a schedule, and its PeriodicTask, which beat reads."""
    task = current.periodic_task if current else PeriodicTask(task=LAUNCHER)
    if data.cron:
        parts = dict(zip(CRON_PARTS, data.cron.split(), strict=True))
        task.crontab, _ = CrontabSchedule.objects.get_or_create(
            **parts, timezone=settings.TIME_ZONE
        )
        task.interval = None
        task.expire_seconds = CRON_EXPIRE_SECONDS
    else:
        assert data.every is not None
        task.interval, _ = IntervalSchedule.objects.get_or_create(
            every=data.every, period=data.period
        )
        task.crontab = None
        task.expire_seconds = max(MIN_EXPIRE_SECONDS, data.every * PERIOD_SECONDS[data.period])
    task.enabled = data.enabled
    if current is None:
        task.name = f"dashboard schedule {uuid.uuid4().hex}"  # until it has an id
        task.save()
        schedule = Schedule(periodic_task=task, owner=owner)
    else:
        schedule = current
    schedule.kind, schedule.params = data.kind, data.params
    schedule.save()
    task.name = f"Dashboard schedule {schedule.pk}: {schedule.get_kind_display()}"
    task.kwargs = json.dumps({"schedule_id": schedule.pk})
    task.save()
    return schedule


def set_enabled(schedule: Schedule, enabled: bool) -> None:
    task = schedule.periodic_task
    task.enabled = enabled
    task.save()


def delete_schedule(schedule: Schedule) -> None:
    """Delete it (its PeriodicTask, which takes the schedule along); runs stay, unlinked."""
    schedule.periodic_task.delete()


def run_now(schedule: Schedule) -> TaskRecord:
    """One run, now, as beat would launch it (BrokerUnavailable if Redis won't take it)."""
    return launch(
        Kind(schedule.kind), owner=schedule.owner, params=schedule.params, schedule=schedule
    )


@shared_task(name=LAUNCHER, ignore_result=True)
def launch_scheduled(schedule_id: int) -> str | None:
    """What beat sends: launch one run of the schedule, if it is still there and on."""
    schedule = (
        Schedule.objects.select_related("periodic_task", "owner").filter(pk=schedule_id).first()
    )
    if schedule is None or not schedule.periodic_task.enabled:
        # Deleted or disabled after beat sent this.
        logger.info("schedule %s is gone or disabled; no run", schedule_id)
        return None
    Schedule.objects.filter(pk=schedule_id).update(last_fired_at=timezone.now())
    return str(run_now(schedule).task_id)


# --- Reading ---------------------------------------------------------------------------


def with_last_run(schedules: QuerySet[Schedule]) -> QuerySet[Schedule]:
    """The schedules with their timing and the time of their newest run, in one query.
    The newest run is one step down the (schedule, id) index, however many runs a
    schedule has had (a MAX over them would read them all)."""
    newest = TaskRecord.objects.filter(schedule=OuterRef("pk")).order_by("-id")
    return schedules.select_related(
        "periodic_task__interval", "periodic_task__crontab", "owner"
    ).annotate(last_run_at=Subquery(newest.values("submitted_at")[:1]))


def next_run_at(schedule: Schedule) -> datetime | None:
    """When beat will launch it next (an estimate, as beat counts from its last run)."""
    task = schedule.periodic_task
    if not task.enabled or task.scheduler is None:
        return None
    base = max(
        (t for t in (schedule.last_fired_at, task.last_run_at) if t is not None),
        default=task.date_changed or schedule.created_at,
    )
    now = timezone.now()
    upcoming: datetime = now + task.schedule.remaining_estimate(base)
    return max(now, upcoming)


def describe_cadence(schedule: Schedule) -> str:
    every, period, cron = cadence_of(schedule.periodic_task)
    if cron:
        return f"cron {cron}"
    if every is None:
        return "set in the admin"
    return f"every {every} {period.removesuffix('s') if every == 1 else period}"


def schedule_json(schedule: Schedule, runs: list[TaskRecord] | None = None) -> dict[str, Any]:
    every, period, cron = cadence_of(schedule.periodic_task)
    last: datetime | None = getattr(schedule, "last_run_at", None)
    upcoming = next_run_at(schedule)
    body: dict[str, Any] = {
        "id": schedule.pk,
        "type": schedule.kind,
        "kind_name": schedule.get_kind_display(),
        "params": schedule.params,
        "every": every,
        "period": period if every else None,
        "cron": cron or None,
        "cadence": describe_cadence(schedule),
        "enabled": schedule.periodic_task.enabled,
        "owner": schedule.owner.get_username() if schedule.owner else None,
        "last_run_at": last.isoformat() if last else None,
        "next_run_at": upcoming.isoformat() if upcoming else None,
        "url": schedule.url,
    }
    if runs is not None:
        body["runs"] = [
            {"task_id": str(run.task_id), "task_status": run.status, "url": run.url} for run in runs
        ]
    return body
