"""With the broker unreachable, submitting says so and leaves nothing behind."""

from collections.abc import Iterator

import httpx
import pytest

from conftest import Service, Stack, free_port, start_web


@pytest.fixture
def web_without_broker(stack: Stack) -> Iterator[str]:
    port = free_port()
    env = stack.env | {"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    web: Service = start_web(stack, port, env=env)
    yield f"http://127.0.0.1:{port}"
    web.stop()


def test_submit_answers_503_and_lists_no_orphan(web_without_broker: str) -> None:
    before = {t["task_id"] for t in httpx.get(f"{web_without_broker}/tasks/").json()["tasks"]}

    response = httpx.post(f"{web_without_broker}/tasks/", files={"type": (None, "1")})

    assert response.status_code == 503
    assert "not reachable" in response.json()["error"]
    after = {t["task_id"] for t in httpx.get(f"{web_without_broker}/tasks/").json()["tasks"]}
    assert after == before


def test_history_still_renders_without_broker(web_without_broker: str) -> None:
    page = httpx.get(f"{web_without_broker}/", headers={"Accept": "text/html"})

    assert page.status_code == 200
    assert 'id="task-table"' in page.text
