"""`make up`'s path in a scratch directory: migrate, catalog, demo, then serve until Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from petri_pytest.isolation import free_port

pytestmark = pytest.mark.system  # serve and the runners, as subprocesses on their own database
MANAGE = str(Path(settings.BASE_DIR) / "manage.py")


def wait_for(url: str, headers: dict | None = None, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        try:
            request = urllib.request.Request(url, headers=headers or {})
            with urllib.request.urlopen(request, timeout=5) as response:
                return json.loads(response.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_serve_runs_the_demo_experiment_and_stops_cleanly_on_ctrl_c(tmp_path):
    # The scheduler looks for work every 0.2 s rather than the default 2 s: the six demo jobs
    # are claimed as soon as slots free up instead of a poll interval later.
    env = {
        **os.environ,
        "PETRI_VAR_DIR": str(tmp_path),
        "PETRI_MAX_RUNNING": "2",
        "PETRI_POLL_INTERVAL": "0.2",
    }
    env.pop("DATABASE_URL", None)
    for command in (["migrate", "--noinput"], ["sync_algorithms"]):
        subprocess.run([sys.executable, MANAGE, *command], env=env, check=True, capture_output=True)
    demo = subprocess.run(
        [sys.executable, MANAGE, "demo"], env=env, check=True, capture_output=True, text=True
    ).stdout
    token = next(line.split()[-1] for line in demo.splitlines() if "token" in line)
    assert "demo password: petri-demo" in demo

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, MANAGE, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        assert wait_for(f"{base}/healthz") == {"status": "ok"}
        auth = {"Authorization": f"Token {token}"}
        names = [a["name"] for a in wait_for(f"{base}/api/algorithms/", auth)]
        assert {"pc", "sleep-and-score"} <= set(names)

        deadline = time.monotonic() + 180
        while True:
            experiment = wait_for(f"{base}/api/experiments/1/", auth)
            if experiment["status"] not in ("waiting", "running"):
                break
            assert time.monotonic() < deadline, experiment
            time.sleep(0.2)
        assert experiment["status"] == "succeeded", experiment
    finally:
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=60)
    assert server.returncode == 0, output
    assert "Petri stopped." in output
