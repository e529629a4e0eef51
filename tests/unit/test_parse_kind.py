"""Reading the `type` field."""

import pytest

from webapp.tasks.catalogue.kinds import Kind
from webapp.tasks.web.inputs import parse_kind
from webapp.tasks.web.representations import BadInput


@pytest.mark.parametrize(
    ("raw", "kind"),
    [("0", Kind.INSTANT), (" 1 ", Kind.SHORT), (2, Kind.MEDIUM), ("3", Kind.LONG)],
)
def test_it_accepts_the_seed_types(raw: object, kind: Kind) -> None:
    assert parse_kind(raw) is kind


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("short", Kind.SHORT),
        (" cpu-heavy ", Kind.CPU),
        ("notify", Kind.NOTIFY),
        ("export", Kind.EXPORT),
    ],
)
def test_it_accepts_an_entry_name(raw: object, kind: Kind) -> None:
    assert parse_kind(raw) is kind


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "Short",
        "cpu",
        "",
        "9",  # one past the last kind
        "-1",
        "1.0",
        "1e0",
        "０",
        "²",
        True,
        1.0,
        [1],
        {"a": 1},
        "x" * 10_000,
    ],
)
def test_it_rejects_anything_else_with_a_400(raw: object) -> None:
    with pytest.raises(BadInput) as caught:
        parse_kind(raw)

    assert caught.value.status == 400
    assert "3 (long), 4 (cpu-heavy), 5 (failing), 6 (flaky)" in caught.value.message
    assert len(caught.value.message) < 200
