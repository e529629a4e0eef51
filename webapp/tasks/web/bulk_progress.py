"""Saying how far a bulk action got: the progress line and its summary, the job as
JSON, and the status region the dashboard's poll appends for the reader who follows
the job. The progress is this reader's own, so it is never part of the shared live
fragment: the poll names the job (`bulk=<id>`, from an input beside the table that
htmx includes) and gets the region out of band, after the shared part."""

from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string

from webapp.tasks.access.scope import visible_bulk_jobs
from webapp.tasks.models import BulkJob
from webapp.tasks.web.feedback import count_text

VERBS = {
    BulkJob.Action.CANCEL: ("Cancel", "Cancelling", "Cancelled"),
    BulkJob.Action.RETRY: ("Retry", "Retrying", "Retried"),
    BulkJob.Action.DELETE: ("Delete", "Deleting", "Deleted"),
}


def tasks_text(number: int) -> str:
    return f"{count_text(number)} task{'' if number == 1 else 's'}"


# --- Saying how far it got -------------------------------------------------------------


def reasons_text(job: BulkJob) -> str:
    return ", ".join(
        f"{count_text(count)} {reason}"
        for reason, count in sorted(job.reasons.items(), key=lambda item: (-item[1], item[0]))
    )


def progress_text(job: BulkJob) -> str:
    """ "Cancelling: 3 200 of 8 412 done, 12 skipped (already finished)", or at the end
    how many were done and why the rest were skipped."""
    _, doing, did = VERBS[BulkJob.Action(job.action)]
    skipped = f", {count_text(job.skipped)} skipped ({reasons_text(job)})" if job.skipped else ""
    if job.state == BulkJob.State.QUEUED:
        return f"{doing} {tasks_text(job.total)}: waiting for a worker…"
    if job.state == BulkJob.State.RUNNING:
        return f"{doing}: {count_text(job.done)} of {count_text(job.total)} done{skipped}…"
    if job.state == BulkJob.State.FAILED:
        return (
            f"{doing} stopped after {count_text(job.done)} of {count_text(job.total)}"
            f"{skipped}: {job.error}"
        )
    summary = f"{did} {count_text(job.done)} of {tasks_text(job.total)}."
    if job.skipped:
        summary += f" {count_text(job.skipped)} skipped: {reasons_text(job)}."
    return summary


def as_json(job: BulkJob) -> dict[str, Any]:
    return {
        "id": job.pk,
        "url": job.url,
        "action": job.action,
        "selection": {"ids": job.ids} if job.ids is not None else {"filter": job.filter},
        "state": job.state,
        "total": job.total,
        "done": job.done,
        "skipped": job.skipped,
        "skipped_reasons": job.reasons,
        "message": progress_text(job),
        "error": job.error or None,
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


# --- In the page ------------------------------------------------------------------------


def status_region(request: HttpRequest, job: BulkJob, oob: bool = False) -> str:
    context = {"job": job, "progress": progress_text(job), "oob": oob}
    return render_to_string("dashboard.html#bulk-status", context, request)


def followed_job(request: HttpRequest) -> str | None:
    """The job a dashboard poll follows (`bulk=<id>`), if any."""
    job_id = request.GET.get("bulk", "")
    return job_id if job_id.isdigit() and len(job_id) < 19 else None


def progress_oob(request: HttpRequest) -> str:
    """The followed job's progress line, out of band, for the poll to append; once
    finished it holds no `bulk` input, so the next poll stops asking."""
    job_id = followed_job(request)
    job = visible_bulk_jobs(request).filter(pk=int(job_id)).first() if job_id else None
    return status_region(request, job, oob=True) if job else ""
