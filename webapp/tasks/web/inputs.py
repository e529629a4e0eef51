"""Reading what clients send: the `type` field of a form or JSON body and the
parameters of the entry it names, refusing bodies that can't be read with a 4xx that
says why."""

import json
from collections import Counter

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest
from django.http.multipartparser import MultiPartParserError

from webapp.tasks.catalogue.entries import LAUNCH_FIELDS, Params, entry_of
from webapp.tasks.catalogue.kinds import Kind
from webapp.tasks.web.representations import BadInput


def read_kind(request: HttpRequest) -> Kind:
    """The kind named by the `type` field of a form or JSON body."""
    return parse_kind(read_field(request, "type"))


def read_launch(request: HttpRequest) -> tuple[Kind, Params]:
    """The kind named by `type` and its complete parameters: the other form fields,
    or the `params` object of a JSON body. InvalidParams names each refused one."""
    kind = read_kind(request)  # also refuses bodies that can't be read
    entry = entry_of(kind)
    if request.content_type == "application/json":
        body = json_object(request, "type")
        given = body.get("params")
        if given is None:
            given = {}
        if not isinstance(given, dict):
            raise BadInput(
                f'`params` must be a JSON object, as in {{"type": "{kind.label}", '
                f'"params": {{...}}}}; {entry.accepted()}.'
            )
        if misplaced := sorted(name for name in body if entry.param(name)):
            raise BadInput(
                f"Send parameters inside `params`, as in "
                f'{{"type": "{kind.label}", "params": {{"{misplaced[0]}": ...}}}}.'
            )
        return kind, entry.validate(given, from_form=False)
    fields: dict[str, object] = {}
    if request.content_type in FORM_TYPES:
        for name in request.POST:
            if name not in LAUNCH_FIELDS:
                values = form_values(request, name)
                if len(values) > 1:
                    raise BadInput(f"Send one `{shown(name)}`, not {len(values)}.")
                fields[name] = values[0] if values else ""
    return kind, entry.validate(fields, from_form=True)


FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def read_field(request: HttpRequest, name: str) -> object:
    """One field of a form or JSON object body, refusing bodies we can't read."""
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or int(length) > settings.SUBMIT_MAX_BYTES:
        raise BadInput(
            f"The request body is too large; send at most {settings.SUBMIT_MAX_BYTES} bytes.",
            status=413,
        )
    content_type = request.content_type or ""
    if content_type == "application/json":
        return json_object(request, name).get(name)
    if content_type in FORM_TYPES:
        values = form_values(request, name)
        if len(values) > 1:
            # Taking the last one silently would run something the client may
            # not have meant; say so instead.
            raise BadInput(f"Send one `{name}`, not {len(values)}.")
        return values[0] if values else None
    if not int(length) and name != "type":
        return None  # an action without a body
    raise BadInput(
        f"Send `{name}` as a form field (multipart/form-data or "
        "application/x-www-form-urlencoded) or as JSON (application/json).",
        status=415,
    )


def json_object(request: HttpRequest, name: str) -> dict[str, object]:
    """The JSON object of the body; `name` is the field an error's example shows."""
    try:
        body = json.loads(request.body or b"null", object_pairs_hook=_unique_keys)
    except (ValueError, RequestDataTooBig) as exc:
        raise BadInput(f"The body is not valid JSON: {exc}") from None
    except RecursionError:  # e.g. 10 000 `[`: 10 KB, but json.loads recurses per level
        raise BadInput("The JSON body is nested too deeply.") from None
    if not isinstance(body, dict):
        raise BadInput(f'Send a JSON object such as {{"{name}": 1}}.')
    return body


def shown(text: str) -> str:
    """A client's text as an error message repeats it: recognisable, never long."""
    return text if len(text) <= 20 else text[:20] + "…"


def form_values(request: HttpRequest, name: str) -> list[str]:
    """Every value of a form field, turning bodies Django refuses into BadInput
    (413 or 400) rather than a SuspiciousOperation logged with its traceback."""
    try:
        return request.POST.getlist(name)
    except RequestDataTooBig:
        raise BadInput("The request body is too large.", status=413) from None
    except (TooManyFieldsSent, TooManyFilesSent, MultiPartParserError) as exc:
        raise BadInput(f"Malformed form body: {exc}") from None


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A JSON object, refusing a key given twice (json.loads would keep the last)."""
    body = dict(pairs)
    if len(body) < len(pairs):
        key, times = Counter(key for key, _ in pairs).most_common(1)[0]
        raise BadInput(f"Send one `{shown(key)}`, not {times}.")
    return body


KINDS_BY_NAME = {kind.label: kind for kind in Kind}


def parse_kind(raw: object) -> Kind:
    """The kind a `type` names: its number, as the seed had it, or its name."""
    accepted = f"type must be one of {Kind.accepted()}, by number or name"
    if raw is None or raw == "":
        raise BadInput(f"The field `type` is missing; {accepted}.")
    if isinstance(raw, bool) or not isinstance(raw, (int, str)):
        raise BadInput(f"{accepted}.")
    text = str(raw).strip()
    if text in KINDS_BY_NAME:
        return KINDS_BY_NAME[text]
    # (The length first: int() refuses strings of more than 4300 digits.)
    if not (text.isascii() and text.isdigit() and len(text) < 5) or int(text) not in Kind.values:
        raise BadInput(f"{shown(text)!r} is not a task type; {accepted}.")
    return Kind(int(text))
