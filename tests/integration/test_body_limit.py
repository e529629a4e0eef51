"""A body larger than the limit is refused by its Content-Length, before anything
(the CSRF check included) starts reading it."""

import socket
from urllib.parse import urlsplit

import httpx

from conftest import Stack


def send_head_only(url: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
    """Send a request whose body is much shorter than its Content-Length says, and
    return what the server answers without waiting for the rest."""
    parts = urlsplit(url)
    lines = [f"POST {path} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode()
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(head + body)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(4096)  # a server waiting for the body times this out
            if not chunk:
                break
            answer += chunk
        return answer


def test_a_browser_post_claiming_ten_megabytes_is_refused_at_once(stack: Stack) -> None:
    token = "a" * 32
    answer = send_head_only(
        stack.url,
        "/tasks/",
        {
            "Cookie": f"csrftoken={token}",
            "Origin": stack.url,
            "Accept": "application/json",
            "Content-Type": "multipart/form-data; boundary=xyz",
            "Content-Length": "10000000",
        },
        b'--xyz\r\nContent-Disposition: form-data; name="type"\r\n\r\n0\r\n',
    )

    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_an_oversized_body_gets_the_negotiated_error_shape(stack: Stack) -> None:
    response = httpx.post(
        f"{stack.url}/tasks/",
        content=b"x" * 70_000,
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )

    assert response.status_code == 413
    assert "too large" in response.json()["error"]
