"""The HTTP client's backoff schedule and its handling of the token on redirects."""

from __future__ import annotations

import socket
import urllib.request
from email.message import Message

import pytest
from petri_runner.api import ApiClient, SameOriginAuthRedirects
from petri_runner.errors import RetriesExhausted


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens there any more


def test_backoff_doubles_from_half_a_second_to_fifteen_with_jitter_within_the_budget() -> None:
    now = 0.0
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        nonlocal now
        sleeps.append(seconds)
        now += seconds

    client = ApiClient(closed_port_url(), "token", 100, sleep=sleep, clock=lambda: now)
    with pytest.raises(RetriesExhausted, match="after 100 s of retries"):
        client.get_json(client.endpoint("/api/runner/job/"))

    ceilings = [min(0.5 * 2**i, 15) for i in range(len(sleeps))]
    # The last sleep only fills what is left of the budget.
    for slept, ceiling in zip(sleeps[:-1], ceilings, strict=False):
        assert ceiling / 2 <= slept <= ceiling
    assert sum(sleeps) == pytest.approx(100)


def redirect(from_url: str, to_url: str) -> urllib.request.Request | None:
    request = urllib.request.Request(from_url)
    request.add_unredirected_header("Authorization", "Bearer secret")
    return SameOriginAuthRedirects().redirect_request(
        request, None, 302, "Found", Message(), to_url
    )


def test_token_follows_a_redirect_within_the_same_origin() -> None:
    new = redirect("http://api:8000/api/runner/dataset/", "http://api:8000/media/d.csv")

    assert new is not None
    assert new.unredirected_hdrs["Authorization"] == "Bearer secret"


def test_token_is_dropped_on_a_redirect_to_another_origin() -> None:
    new = redirect("http://api:8000/api/runner/dataset/", "https://bucket.example/d.csv")

    assert new is not None
    assert "Authorization" not in new.unredirected_hdrs
    assert "Authorization" not in new.headers
