"""Each test process starts its servers on ports from a block of its own."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from petri_pytest import isolation


def ports_of(worker: str, count: int, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
    monkeypatch.delitem(isolation._state, "ports", raising=False)
    return [isolation.free_port() for _ in range(count)]


def test_two_workers_never_pick_the_same_port(monkeypatch: pytest.MonkeyPatch) -> None:
    first = ports_of("gw0", 5, monkeypatch)
    second = ports_of("gw1", 5, monkeypatch)

    assert not set(first) & set(second)
    assert len(set(first)) == 5, "a process's successive picks differ"
    low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    assert all(not low <= port <= high for port in first + second), "outside the ephemeral range"


def test_a_port_something_listens_on_is_passed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    [would_be] = ports_of("gw5", 1, monkeypatch)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", would_be))
        taken.listen()
        [picked] = ports_of("gw5", 1, monkeypatch)

    assert picked != would_be
    first = isolation.FIRST_PORT + 6 * isolation.PORTS_PER_PROCESS  # gw5's, after main's
    assert picked in range(first, first + isolation.PORTS_PER_PROCESS)
