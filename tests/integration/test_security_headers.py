"""Every page carries a strict Content Security Policy and the usual headers."""

import httpx


def test_pages_have_a_strict_csp_and_security_headers(client: httpx.Client) -> None:
    page = client.get("/", headers={"Accept": "text/html"})

    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Referrer-Policy"] == "same-origin"
    assert page.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    # htmx is told not to eval or inject inline styles, which this CSP would block.
    assert '"allowEval": false' in page.text
    assert '"includeIndicatorStyles": false' in page.text
