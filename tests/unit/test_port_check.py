"""`make compose-test`'s check that its ports are free (boot/ports.py)."""

import socket

import pytest

from boot.ports import port_is_free


@pytest.fixture
def port_left_in_time_wait() -> int:
    """A port nothing listens on any more, with a connection of it in TIME_WAIT: the
    server side closed first, as a web server does after answering."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = int(listener.getsockname()[1])
        client = socket.create_connection(("127.0.0.1", port))
        served, _ = listener.accept()
        served.close()  # the active close: this end goes to TIME_WAIT
        client.recv(1)  # sees the FIN
        client.close()
    return port


def plain_bind_fails(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def test_a_port_left_in_time_wait_by_a_recent_run_is_free(port_left_in_time_wait: int) -> None:
    # What the old check did (a bind without SO_REUSEADDR) fails here.
    assert plain_bind_fails(port_left_in_time_wait)

    assert port_is_free(port_left_in_time_wait)


def test_a_port_something_listens_on_is_taken() -> None:
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen()

        assert not port_is_free(int(server.getsockname()[1]))
