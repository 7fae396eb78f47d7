"""Websockets on a real daphne (`manage.py serve`), with a real websocket client."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from webapp.accounts.tokens import issue_token
from webapp.realtime.tests.helpers import unwrap

pytestmark = pytest.mark.django_db(transaction=True)


def post_json(url: str, body: dict, token: str) -> dict:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_a_sweep_submitted_over_http_is_followed_to_its_end_over_a_websocket(
    petri_server, user, catalog
):
    _, token = issue_token(user, "websocket client")
    headers = {"Authorization": f"Token {token}"}
    with connect(f"{petri_server.ws_url}/ws/events/", additional_headers=headers) as ws:
        experiment = post_json(
            f"{petri_server.url}/api/experiments/",
            {
                "algorithm": "sleep-and-score",
                # Long enough that the runner's started event (sent within 0.25 s) goes before
                # the result even under load: a job ending sooner is seen to skip running.
                "parameters": {"x": [1, 2], "duration": 2, "steps": 4},
            },
            token,
        )
        messages: list[dict] = []
        final: dict[int, dict] = {}
        experiment_status = None
        deadline = time.monotonic() + 90
        while len(final) < 2 or experiment_status != "succeeded":
            left = deadline - time.monotonic()
            assert left > 0, f"only {messages!r:.3000}\n{petri_server.log()}"
            try:
                frame = json.loads(ws.recv(timeout=left))
            except TimeoutError:
                continue
            for message in unwrap(frame):
                messages.append(message)
                data = message["data"]
                if message["type"] == "job.updated" and data["status"] == "succeeded":
                    final[data["id"]] = data
                elif message["type"] == "experiment.updated":
                    experiment_status = data["status"]

    assert {m["data"].get("experiment", m["data"].get("id")) for m in messages} == {
        experiment["id"]
    }
    for job in final.values():
        assert job["experiment"] == experiment["id"]
        assert job["progress"] == 1.0 and job["finished_at"]
        assert "score" in job["metrics"]
    lifecycle = ["waiting", "dispatching", "pending", "running", "succeeded"]
    for job_id in final:
        # Short-lived states may be coalesced away, but never reordered.
        seen = [
            lifecycle.index(m["data"]["status"])
            for m in messages
            if m["type"] == "job.updated" and m["data"]["id"] == job_id
        ]
        assert seen == sorted(seen) and lifecycle.index("running") in seen
    kinds = {m["type"] for m in messages}
    assert {"job.log", "job.metric", "experiment.updated"} <= kinds


def test_the_served_handshake_refuses_strangers_and_admits_a_signed_in_browser(petri_server, user):
    from django.test import Client

    with pytest.raises(InvalidStatus) as refused:
        connect(f"{petri_server.ws_url}/ws/events/", open_timeout=10).close()
    assert refused.value.response.status_code == 403

    browser = Client()
    browser.force_login(user)
    cookie = f"sessionid={browser.cookies['sessionid'].value}"
    with connect(
        f"{petri_server.ws_url}/ws/events/",
        origin=petri_server.url,
        additional_headers={"Cookie": cookie},
        open_timeout=10,
    ) as ws:
        assert ws.protocol.state.name == "OPEN"

    with pytest.raises(InvalidStatus):
        connect(
            f"{petri_server.ws_url}/ws/events/",
            origin="http://evil.example",
            additional_headers={"Cookie": cookie},
            open_timeout=10,
        ).close()
