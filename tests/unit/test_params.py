"""Reading one parameter from a form field's text or a JSON value."""

from typing import Any

import pytest

from webapp.tasks.catalogue.entries import Param, ParamError
from webapp.tasks.catalogue.kinds import Kind
from webapp.tasks.models import TaskRecord

SECONDS = Param("seconds", "int", 10, minimum=0, maximum=100)
RATE = Param("rate", "float", 1.0, minimum=0.1, maximum=60)
URGENT = Param("urgent", "bool", False)
TO = Param("to", "choice", "team", choices=("team", "all"))
NOTE = Param("note", "text", "", max_length=5)


@pytest.mark.parametrize(
    ("param", "text", "value"),
    [
        (SECONDS, " 5 ", 5),
        (SECONDS, "0", 0),
        (SECONDS, "-0", 0),
        (RATE, "0.5", 0.5),
        (RATE, "1e1", 10.0),
        (RATE, "60", 60.0),
        (URGENT, "on", True),
        (URGENT, "TRUE", True),
        (URGENT, "no", False),
        (URGENT, "0", False),
        (TO, " all ", "all"),
        (NOTE, " a b ", " a b "),  # text is kept as typed
    ],
)
def test_a_form_field_is_read_as_its_type(param: Param, text: str, value: Any) -> None:
    assert param.from_form(text) == value


@pytest.mark.parametrize(
    ("param", "text"),
    [
        (SECONDS, "٣"),  # a digit, but not an ASCII one
        (SECONDS, "5.0"),
        (SECONDS, "1e3"),
        (SECONDS, "101"),
        (SECONDS, "9" * 5000),
        (SECONDS, ""),
        (RATE, "nan"),
        (RATE, "inf"),
        (RATE, "1e400"),
        (RATE, "0.05"),
        (URGENT, "maybe"),
        (TO, "Team"),
        (NOTE, "toolong"),
    ],
)
def test_a_form_field_out_of_range_or_of_another_type_is_refused(param: Param, text: str) -> None:
    with pytest.raises(ParamError) as refused:
        param.from_form(text)

    assert f"`{param.name}` must be {param.accepts()}" in str(refused.value)
    assert len(str(refused.value)) < 120


@pytest.mark.parametrize(
    ("param", "value", "expected"),
    [(SECONDS, 5.0, 5), (RATE, 2, 2.0), (URGENT, True, True), (TO, "all", "all")],
)
def test_a_json_value_is_taken_as_the_schema_types_it(
    param: Param, value: object, expected: Any
) -> None:
    result = param.from_json(value)

    assert (result, type(result)) == (expected, type(expected))


@pytest.mark.parametrize(
    ("param", "value"),
    [
        (SECONDS, "5"),
        (SECONDS, True),
        (SECONDS, 10**400),
        (RATE, float("nan")),
        (RATE, 10**400),
        (URGENT, 1),
        (URGENT, "true"),
        (TO, ["all"]),
        (NOTE, 5),
    ],
)
def test_a_json_value_of_another_type_is_refused(param: Param, value: object) -> None:
    with pytest.raises(ParamError):
        param.from_json(value)


def test_a_default_the_parameter_would_refuse_is_a_mistake_in_the_declaration() -> None:
    with pytest.raises(ParamError):
        Param("seconds", "int", 500, minimum=0, maximum=100)


@pytest.mark.django_db
def test_a_task_from_before_the_catalogue_shows_the_defaults_it_ran_with() -> None:
    legacy = TaskRecord.objects.create(kind=Kind.FLAKY)  # params NULL, as 0011 leaves them

    assert legacy.as_json()["params"] == {"failures": 2}
