"""Browser form posts need the CSRF token; scripts without cookies don't."""

import re

import httpx

from conftest import Stack


def csrf_token(page: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert match
    return match.group(1)


def test_form_post_without_javascript_redirects_303_to_the_dashboard(
    stack: Stack,
) -> None:
    with httpx.Client(base_url=stack.url, headers={"Accept": "text/html"}) as browser:
        token = csrf_token(browser.get("/").text)

        response = browser.post(
            "/tasks/",
            data={"type": "0", "csrfmiddlewaretoken": token},
            headers={"Origin": stack.url},
        )

    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_browser_post_without_token_is_refused(stack: Stack) -> None:
    with httpx.Client(base_url=stack.url, headers={"Accept": "text/html"}) as browser:
        browser.get("/")  # receives the CSRF cookie, like a visitor

        response = browser.post("/tasks/", data={"type": "0"}, headers={"Origin": stack.url})

    assert response.status_code == 403
    assert "did not come from this dashboard" in response.text


def test_cross_site_form_post_with_the_session_cookie_is_refused(stack: Stack) -> None:
    with httpx.Client(base_url=stack.url, headers={"Accept": "text/html"}) as browser:
        token = csrf_token(browser.get("/").text)

        response = browser.post(
            "/tasks/",
            data={"type": "0", "csrfmiddlewaretoken": token},
            headers={"Origin": "https://evil.example"},
        )

    assert response.status_code == 403


def test_cross_site_post_without_cookies_is_refused(stack: Stack) -> None:
    # A page elsewhere posting to a dashboard on localhost: no cookie, but Origin.
    response = httpx.post(
        f"{stack.url}/tasks/",
        data={"type": "0"},
        headers={"Origin": "https://evil.example"},
    )

    assert response.status_code == 403
