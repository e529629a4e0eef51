"""Each entry's JSON Schema is valid draft 2020-12, and the server agrees with it:
what the schema accepts, the server launches; what it refuses, the server refuses."""

import json
from typing import Any

import pytest
from django.test import RequestFactory

from webapp.tasks.catalogue.entries import Entry, InvalidParams, Param, entries
from webapp.tasks.web.inputs import read_launch
from webapp.tasks.web.representations import BadInput

jsonschema = pytest.importorskip("jsonschema")  # check-jsonschema brings it


def accepted_values(param: Param) -> list[Any]:
    if param.type in ("int", "float"):
        values: list[Any] = [param.default, param.minimum, param.maximum]
        return values + ([float(param.default)] if param.type == "int" else [])  # 5.0 is 5
    if param.type == "bool":
        return [True, False]
    if param.type == "choice":
        return list(param.choices)
    return ["", "x" * param.max_length, "émoji ✓"]


def refused_values(param: Param) -> list[Any]:
    wrong_type = {"int": "5", "float": "5", "bool": "true", "choice": 1, "text": 1}
    values: list[Any] = [wrong_type[param.type], None, [param.default]]
    if param.type in ("int", "float"):
        assert param.minimum is not None
        assert param.maximum is not None
        values += [param.minimum - 1, param.maximum + 1, True]
        if param.type == "int":
            values.append(param.minimum + 0.5)
    if param.type == "choice":
        values.append("none of those")
    if param.type == "text":
        values.append("x" * (param.max_length + 1))
    return values


def server_accepts(entry: Entry, params: dict[str, Any]) -> bool:
    body = json.dumps({"type": entry.name, "params": params})
    request = RequestFactory().post("/tasks/", body, content_type="application/json")
    try:
        read_launch(request)
    except InvalidParams:
        return False
    except BadInput as exc:  # any other refusal would be a disagreement too
        raise AssertionError(exc.message) from exc
    return True


@pytest.mark.parametrize("entry", entries(), ids=lambda entry: entry.name)
def test_the_schema_is_valid_draft_2020_12(entry: Entry) -> None:
    schema = entry.json_schema()

    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert jsonschema.validators.validator_for(schema) is jsonschema.Draft202012Validator


@pytest.mark.parametrize("entry", entries(), ids=lambda entry: entry.name)
def test_the_server_accepts_what_the_schema_accepts_and_refuses_the_rest(entry: Entry) -> None:
    validator = jsonschema.Draft202012Validator(entry.json_schema())
    candidates: list[tuple[dict[str, Any], bool]] = [({}, True), ({"no_such": 1}, False)]
    for param in entry.params:
        candidates += [({param.name: value}, True) for value in accepted_values(param)]
        candidates += [({param.name: value}, False) for value in refused_values(param)]

    for params, expected in candidates:
        assert validator.is_valid(params) is expected, (params, "schema")
        assert server_accepts(entry, params) is expected, (params, "server")


def test_every_entry_declares_a_queue_a_run_time_and_whether_it_may_run_twice() -> None:
    declared = {entry.name: (entry.queue, entry.safe_to_repeat) for entry in entries()}

    assert declared["cpu-heavy"] == ("cpu", True)
    assert declared["notify"] == ("default", False)
    assert {queue for queue, _ in declared.values()} == {"default", "cpu"}
    assert all(entry.expected_seconds(entry.defaults) >= 0 for entry in entries())
