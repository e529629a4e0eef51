"""What the shared cache holds cannot run code when read: entries are JSON, so a
pickle planted in Redis (by anyone who can write to it) is a miss, not an exploit."""

import os
import pickle
from pathlib import Path

import httpx
import redis

from conftest import Stack


class Planted:
    """Pickled, this runs os.mkdir(marker) in whoever unpickles it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.mkdir, (str(self.marker),))


def test_a_pickle_planted_in_the_cache_is_not_executed(stack: Stack, tmp_path: Path) -> None:
    marker = tmp_path / "pickle-ran"
    # The key a poll with ?since=planted reads (live.first_seen), under Django's prefix.
    with redis.Redis.from_url(stack.env["REDIS_URL"]) as store:
        store.set("dashboard:1:live-seen:planted", pickle.dumps(Planted(marker)), ex=60)

    poll = httpx.get(
        f"{stack.url}/tasks/", params={"since": "planted"}, headers={"HX-Request": "true"}
    )

    assert not marker.exists()
    assert poll.status_code == 200
    assert "task-table" in poll.text


def test_the_live_table_still_renders_from_the_json_cache(stack: Stack) -> None:
    htmx = {"HX-Request": "true"}
    first = httpx.get(f"{stack.url}/tasks/", headers=htmx)
    again = httpx.get(f"{stack.url}/tasks/", headers=htmx)  # from the cache this time

    assert first.status_code == again.status_code == 200
    assert first.text == again.text
