"""Free loopback ports for the processes this machine starts (Ray's, Serve's, test servers,
benchmarks)."""

from __future__ import annotations

import socket

_HANDED_OUT: set[int] = set()


def reserve_port(port: int) -> None:
    """A port this process will bind later: :func:`free_port` never returns it."""
    _HANDED_OUT.add(port)


def free_port() -> int:
    """A free loopback port, never one handed out or reserved before in this process (a port
    chosen but not yet bound is free to the OS: two picks could otherwise collide)."""
    for _ in range(100):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port
    raise RuntimeError("no free port found")


def port_open(host: str, port: int) -> bool:
    """Whether something accepts connections on ``host:port`` (half a second to answer)."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0
