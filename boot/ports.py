"""Whether the compose stack can publish on a port of this machine."""

import socket


def port_is_free(port: int) -> bool:
    """Whether nothing listens on 127.0.0.1:`port`.

    SO_REUSEADDR, as every server sets it (podman's port forwarder included): without
    it, the connections a recent run left in TIME_WAIT on the port make the bind fail
    for a minute, although nothing listens there and the stack could start."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
