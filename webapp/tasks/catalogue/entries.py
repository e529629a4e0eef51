"""The catalogue: every task a person may launch, declared once next to its body.

An entry names a kind (its seed-compatible `type` number), says what it does, which
typed parameters it takes (with ranges, defaults and help), on which queue it runs,
whether a run cut short may run again, and how long it takes. From that one
declaration come the launch buttons and forms, the validation of what clients send
(forms and JSON alike), and a JSON Schema per entry (`GET /catalogue/`).

Declare an entry with `@declare(...)` on its body (see bodies.py): the body is called
with the complete parameters (defaults filled in) and a `Run` (time scale, progress
reporter, attempt number, task id).
"""

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from webapp.tasks.catalogue.kinds import Kind
from webapp.tasks.web.representations import BadInput

Params = dict[str, Any]
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
# Form fields of a launch that are not parameters: the entry, Django's CSRF token,
# and when to run it (Celery's names; running/scheduling.py reads them).
LAUNCH_FIELDS = frozenset({"type", "csrfmiddlewaretoken", "eta", "countdown"})
# How much of a value an error message repeats: enough to recognise it.
SHOWN_CHARS = 20
FORM_TRUE = frozenset({"true", "on", "yes", "1"})
FORM_FALSE = frozenset({"false", "off", "no", "0"})


class ParamError(ValueError):
    """One parameter's value was refused; the message names it and what it accepts."""


class InvalidParams(BadInput):
    """Parameters refused: `errors` maps each parameter (or "params") to why."""

    def __init__(self, entry: "Entry", errors: dict[str, str], given: Mapping[str, str]) -> None:
        said = list(errors.values())
        more = f" And {len(said) - 3} more." if len(said) > 3 else ""
        super().__init__(" ".join(said[:3]) + more)
        self.entry = entry
        self.errors = errors
        self.given = dict(given)  # what the form showed, to show it again


@dataclass(frozen=True)
class Param:
    """One typed parameter. `type` is int, float, text, bool or choice."""

    name: str
    type: str
    default: Any
    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    max_length: int = 200

    def __post_init__(self) -> None:
        if self.type not in ("int", "float", "text", "bool", "choice"):
            raise ValueError(f"parameter {self.name}: unknown type {self.type!r}")
        # A default the parameter itself would refuse is a mistake in the declaration.
        self.from_json(self.default)

    @property
    def label(self) -> str:
        return self.name.replace("_", " ").capitalize()

    def accepts(self) -> str:
        """What the parameter accepts, in words, for error messages and forms."""
        if self.type in ("int", "float"):
            what = "a whole number" if self.type == "int" else "a number"
            if self.minimum is not None and self.maximum is not None:
                return f"{what} from {self.minimum:g} to {self.maximum:g}"
            if self.minimum is not None:
                return f"{what} of at least {self.minimum:g}"
            if self.maximum is not None:
                return f"{what} of at most {self.maximum:g}"
            return what
        if self.type == "bool":
            return "true or false"
        if self.type == "choice":
            return "one of " + ", ".join(self.choices)
        return f"a text of at most {self.max_length} characters"

    def refuse(self, value: object) -> ParamError:
        shown = str(value)
        if len(shown) > SHOWN_CHARS:
            shown = shown[:SHOWN_CHARS] + "…"
        return ParamError(f"`{self.name}` must be {self.accepts()}; got {shown!r}.")

    def from_json(self, value: object) -> Any:
        """A JSON value, typed as the schema types it (an int param takes 5 and 5.0,
        never "5" nor true)."""
        if self.type in ("int", "float"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self.refuse(value)
            if isinstance(value, float) and not (
                math.isfinite(value)  # json.loads reads NaN and Infinity
                and (value.is_integer() or self.type == "float")
            ):
                raise self.refuse(value)
            try:
                # An int may hold 10**400, which no float does.
                value = int(value) if self.type == "int" else float(value)
            except OverflowError:
                raise self.refuse(value) from None
            if (self.minimum is not None and value < self.minimum) or (
                self.maximum is not None and value > self.maximum
            ):
                raise self.refuse(value)
            return value
        if self.type == "bool":
            if not isinstance(value, bool):
                raise self.refuse(value)
            return value
        if not isinstance(value, str):
            raise self.refuse(value)
        if self.type == "choice" and value not in self.choices:
            raise self.refuse(value)
        if len(value) > self.max_length:
            raise self.refuse(value)
        return value

    def from_form(self, text: str) -> Any:
        """A form field's text, read as the parameter's type."""
        stripped = text.strip()
        if self.type == "int":
            # (The length first: int() refuses strings of more than 4300 digits.)
            digits = stripped.removeprefix("-")
            if not (digits.isascii() and digits.isdigit() and len(digits) < 10):
                raise self.refuse(text)
            return self.from_json(int(stripped))
        if self.type == "float":
            if not (stripped.isascii() and 0 < len(stripped) < 30):
                raise self.refuse(text)
            try:
                number = float(stripped)
            except ValueError:
                raise self.refuse(text) from None
            return self.from_json(number)
        if self.type == "bool":
            if stripped.lower() in FORM_TRUE:
                return True
            if stripped.lower() in FORM_FALSE:
                return False
            raise self.refuse(text)
        return self.from_json(stripped if self.type == "choice" else text)

    def form_value(self, value: Any) -> str:
        """How a value shows in a form field."""
        if self.type == "bool":
            return "true" if value else "false"
        if self.type == "float":
            return f"{value:g}"
        return str(value)

    @property
    def shown_default(self) -> str:
        if self.type == "bool":
            return "yes" if self.default else "no"
        if self.type == "text":
            return f"“{self.default}”"
        return self.form_value(self.default)

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"title": self.label}
        if self.help:
            schema["description"] = self.help
        if self.type in ("int", "float"):
            schema["type"] = "integer" if self.type == "int" else "number"
            if self.minimum is not None:
                schema["minimum"] = self.minimum
            if self.maximum is not None:
                schema["maximum"] = self.maximum
        elif self.type == "bool":
            schema["type"] = "boolean"
        else:
            schema["type"] = "string"
            schema["maxLength"] = self.max_length
            if self.type == "choice":
                schema["enum"] = list(self.choices)
        schema["default"] = self.default
        return schema


@dataclass(frozen=True)
class Run:
    """What a body gets besides its parameters."""

    scale: float  # TASK_TIME_SCALE: multiplies every duration
    report: Callable[[int], object]  # percent done
    attempt: int = 0  # earlier tries of the same task
    task_id: str = ""  # the task's record, for a body that needs its owner or a file name


Body = Callable[[Params, Run], Any]


@dataclass(frozen=True)
class Entry:
    kind: Kind
    title: str
    body: Body
    params: tuple[Param, ...] = ()
    # Unscaled seconds of a successful run, from its parameters.
    expected_seconds: Callable[[Params], float] = field(default=lambda params: 0.0)
    # What it does, from its parameters and the time scale.
    describe: Callable[[Params, float], str] = field(default=lambda params, scale: "")
    queue: str = "default"
    # Whether a run cut short may simply run again from the start: a task whose
    # worker stopped or died under it is queued again if so, and otherwise ends
    # FAILURE saying why, for a person to retry (or not).
    safe_to_repeat: bool = True

    @property
    def name(self) -> str:
        return self.kind.label

    @property
    def defaults(self) -> Params:
        return {param.name: param.default for param in self.params}

    @property
    def description(self) -> str:
        """With the defaults and this deployment's time scale."""
        return self.describe(self.defaults, settings.TASK_TIME_SCALE)

    @property
    def scaled_seconds(self) -> float:
        return self.expected_seconds(self.defaults) * settings.TASK_TIME_SCALE

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def complete(self, stored: Mapping[str, Any] | None) -> Params:
        """The parameters a task ran with: what was stored (all of it, even a parameter
        the entry has since dropped: shown, never hidden), defaults for the rest."""
        return self.defaults | dict(stored or {})

    def validate(self, given: Mapping[str, object], from_form: bool) -> Params:
        """The complete parameters, or InvalidParams naming every refused one."""
        errors: dict[str, str] = {}
        values: Params = {}
        for name, raw in given.items():
            param = self.param(name)
            if param is None:
                named = name if len(name) <= SHOWN_CHARS else name[:SHOWN_CHARS] + "…"
                errors[name] = f"{self.name} has no parameter {named!r}; {self.accepted()}."
                continue
            try:
                values[name] = param.from_form(str(raw)) if from_form else param.from_json(raw)
            except ParamError as exc:
                errors[name] = str(exc)
        if errors:
            as_typed = {k: str(v) for k, v in given.items()} if from_form else {}
            raise InvalidParams(self, errors, as_typed)
        return self.defaults | values

    def accepted(self) -> str:
        if not self.params:
            return "it takes none"
        return "it takes " + ", ".join(f"`{p.name}` ({p.accepts()})" for p in self.params)

    def json_schema(self) -> dict[str, Any]:
        """Its parameters as a JSON Schema (draft 2020-12) of the `params` object."""
        return {
            "$schema": SCHEMA_DIALECT,
            "title": f"Parameters of {self.name}",
            "type": "object",
            "properties": {param.name: param.json_schema() for param in self.params},
            "additionalProperties": False,
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": int(self.kind),
            "title": self.title,
            "description": self.description,
            "queue": self.queue,
            "safe_to_repeat": self.safe_to_repeat,
            "expected_seconds": round(self.scaled_seconds, 3),
            "defaults": self.defaults,
            "schema": self.json_schema(),
            "url": f"/catalogue/{self.name}/",
        }


ENTRIES: dict[Kind, Entry] = {}


def declare(
    kind: Kind,
    *,
    title: str | None = None,
    params: tuple[Param, ...] = (),
    expected_seconds: Callable[[Params], float] | float = 0.0,
    describe: Callable[[Params, float], str] | str = "",
    queue: str = "default",
    safe_to_repeat: bool = True,
) -> Callable[[Body], Body]:
    """Put the decorated body in the catalogue as the entry of `kind`.

    `describe` may be a format string: {seconds} is the run time, scaled."""

    def expected(params: Params) -> float:
        return expected_seconds(params) if callable(expected_seconds) else expected_seconds

    def description(params: Params, scale: float) -> str:
        if callable(describe):
            return describe(params, scale)
        return describe.format(seconds=duration(expected(params) * scale))

    def register(body: Body) -> Body:
        if kind in ENTRIES:
            raise ValueError(f"{kind.label} is declared twice")
        ENTRIES[kind] = Entry(
            kind=kind,
            title=title or kind.label.capitalize(),
            body=body,
            params=params,
            expected_seconds=expected,
            describe=description,
            queue=queue,
            safe_to_repeat=safe_to_repeat,
        )
        return body

    return register


def entry_of(kind: int) -> Entry:
    return declared()[Kind(kind)]


def entries() -> list[Entry]:
    """Every entry, in the order of their `type` numbers."""
    declared_entries = declared()
    return [declared_entries[kind] for kind in Kind if kind in declared_entries]


def declared() -> dict[Kind, Entry]:
    # The built-in entries are declared on their bodies in bodies.py, which imports
    # this module: importing it here, once needed, makes sure they are in.
    from webapp.tasks.catalogue import bodies  # noqa: F401

    return ENTRIES


def duration(seconds: float) -> str:
    return f"{round(seconds, 1):g} s"
