"""The catalogue on the web: every entry with its parameters' JSON Schema, each
entry's parameter form, and that form again with its errors when a launch is refused."""

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from webapp.tasks.catalogue.entries import Entry, InvalidParams, Param, entries, entry_of
from webapp.tasks.models import TaskRecord
from webapp.tasks.running import scheduling
from webapp.tasks.web.inputs import KINDS_BY_NAME
from webapp.tasks.web.representations import (
    Answer,
    BadInput,
    answer_for,
    error_response,
    negotiated,
)


@dataclass(frozen=True)
class Field:
    """One parameter as its form shows it."""

    param: Param
    id: str
    value: str
    error: str

    @property
    def choices(self) -> list[str]:
        return ["true", "false"] if self.param.type == "bool" else list(self.param.choices)


@dataclass(frozen=True)
class WhenField:
    """`countdown` or `eta`: when to run it, for later runs (running/scheduling.py)."""

    name: str
    label: str
    help: str
    id: str
    value: str
    error: str
    example: str = ""


def when_fields(prefix: str, values: dict[str, Any], errors: dict[str, str]) -> list[WhenField]:
    helps = {
        "countdown": ("Countdown", "Seconds from now; empty runs it now. At most 30 days."),
        "eta": (
            "Or at (ETA)",
            f"An ISO 8601 moment with its UTC offset, such as {scheduling.ETA_EXAMPLE}.",
        ),
    }
    return [
        WhenField(
            name,
            label,
            help,
            f"{prefix}-{name}",
            str(values.get(name) or ""),
            errors.get(name, ""),
            scheduling.ETA_EXAMPLE if name == "eta" else "",
        )
        for name, (label, help) in helps.items()
    ]


@dataclass(frozen=True)
class LaunchForm:
    """An entry's parameter form: values as typed, and what is wrong with them."""

    entry: Entry
    fields: list[Field]
    # Errors that belong to no field (a parameter the entry does not have).
    other_errors: list[str]
    prefix: str  # keeps the ids apart when a page shows several forms
    when: list[WhenField]

    @property
    def has_errors(self) -> bool:
        fields: list[Field | WhenField] = [*self.fields, *self.when]
        return bool(self.other_errors) or any(field.error for field in fields)


def launch_form(
    entry: Entry,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    prefix: str = "",
) -> LaunchForm:
    """`values`: typed values (a task's parameters) or a refused form's texts."""
    values = values or {}
    errors = errors or {}
    prefix = prefix or entry.name
    fields = []
    for param in entry.params:
        value = values.get(param.name, param.default)
        text = value if isinstance(value, str) else param.form_value(value)
        fields.append(Field(param, f"{prefix}-{param.name}", text, errors.get(param.name, "")))
    other = [
        message
        for name, message in errors.items()
        if entry.param(name) is None and name not in scheduling.WHEN_FIELDS
    ]
    return LaunchForm(entry, fields, other, prefix, when_fields(prefix, values, errors))


def run_again_form(record: TaskRecord) -> LaunchForm | None:
    """A finished task's parameters in its entry's form, to run it again edited."""
    if not record.can_delete or record.kind is None:  # running, or not one of ours
        return None
    return launch_form(entry_of(record.kind), record.effective_params, prefix="again")


def params_refused(request: HttpRequest, refused: InvalidParams) -> HttpResponse:
    """A launch whose parameters were refused: the errors per parameter for JSON, the
    form again with each error next to its field for a browser."""
    if answer_for(request) is not Answer.PAGE:
        return error_response(request, 400, refused.message, errors=refused.errors)
    form = launch_form(refused.entry, refused.given, refused.errors)
    return render(request, "catalogue_entry.html", {"form": form}, status=400)


@negotiated("GET")
def catalogue_list(request: HttpRequest) -> HttpResponse:
    """Every entry: JSON (with each one's JSON Schema) for scripts, a page for people."""
    if answer_for(request) is Answer.JSON:
        return JsonResponse({"entries": [entry.as_json() for entry in entries()]})
    forms = [launch_form(entry) for entry in entries()]
    return render(request, "catalogue.html", {"forms": forms})


@negotiated("GET")
def catalogue_entry(request: HttpRequest, name: str) -> HttpResponse:
    """One entry: its JSON, or its parameter form with the defaults."""
    kind = KINDS_BY_NAME.get(name)
    if kind is None:
        shown = name if len(name) <= 40 else name[:40] + "…"
        raise BadInput(
            f"The catalogue has no entry {shown!r}; see /catalogue/ for the list.", status=404
        )
    entry = entry_of(kind)
    if answer_for(request) is Answer.JSON:
        return JsonResponse(entry.as_json())
    return render(request, "catalogue_entry.html", {"form": launch_form(entry)})
