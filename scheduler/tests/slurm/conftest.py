"""Fixtures for the Slurm backend's tests, which run against a real one-node Slurm."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from scheduler.backends.base import JobSpec
from scheduler.backends.slurm import SlurmBackend, SlurmOptions
from scheduler.tests.cluster_lock import holding


@pytest.fixture(autouse=True)
def slurm_cluster_share(request):
    """Tests share the one Slurm cluster; one that disrupts it holds it alone."""
    with holding("slurm", request):
        yield


def slurm_conf() -> Path:
    return Path(os.environ.get("SLURM_CONF", "/etc/slurm/slurm.conf"))


def wait_for(condition, timeout: float, what: str):
    """Poll ``condition`` until it returns something truthy or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def scontrol_job(job_name: str) -> dict[str, str]:
    """``scontrol show job`` of the newest job with this name, as key=value pairs."""
    ids = subprocess.run(
        ["squeue", "-h", "--states=all", f"--name={job_name}", "-o", "%i"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert ids, f"no Slurm job named {job_name}"
    text = subprocess.run(
        ["scontrol", "show", "job", max(ids, key=int)], capture_output=True, text=True, check=True
    ).stdout
    return dict(item.split("=", 1) for item in text.split() if "=" in item)


@pytest.fixture
def slurm_options(tmp_path, settings) -> SlurmOptions:
    """Options with a name prefix of this test's own, so no other run's jobs are adopted."""
    return SlurmOptions(
        python=sys.executable,
        runner_dir=settings.PETRI_RUNNER_DIR,
        algorithms_dir=settings.PETRI_ALGORITHMS_DIR,
        log_dir=tmp_path / "slurm-logs",
        name_prefix=f"t{uuid.uuid4().hex[:8]}-",
        pending_grace=600,
    )


@pytest.fixture
def slurm_backend(slurm_options):
    backend = SlurmBackend(slurm_options)
    yield backend
    subprocess.run(
        ["scancel", f"--user={backend._user()}", "--jobname", _names(backend)], check=False
    )


def _names(backend: SlurmBackend) -> str:
    listed = subprocess.run(
        ["squeue", "-h", "--states=all", "-o", "%j"], capture_output=True, text=True, check=False
    ).stdout.split()
    mine = sorted({n for n in listed if n.startswith(backend.options.name_prefix)})
    return ",".join(mine) or "none"


@pytest.fixture
def fake_python(tmp_path):
    """Make a stand-in for the runner's interpreter that runs ``body`` (sh) instead."""

    def make(body: str) -> str:
        path = tmp_path / f"python-{uuid.uuid4().hex[:6]}"
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)
        return str(path)

    return make


def make_spec(handle: str = "petri-1-1", **kwargs) -> JobSpec:
    values = {
        "job_id": 1,
        "attempt": 1,
        "handle": handle,
        "token": "tok-" + uuid.uuid4().hex,
        "api_url": "http://127.0.0.1:9",
        "algorithm": "sleep-and-score",
        "owner": "alice",
    }
    values.update(kwargs)
    return JobSpec(**values)


class SlurmSchedulerDriver:
    """Ticks the scheduler in the test's thread until a condition holds."""

    def __init__(self, scheduler) -> None:
        self.scheduler = scheduler
        self.backend = scheduler.backend

    def run_until(self, condition, timeout: float = 60.0, what: str = "condition"):
        def ticked():
            self.scheduler.tick()
            return condition()

        return wait_for(ticked, timeout, what)


@pytest.fixture
def slurm_scheduler(live_server, slurm_options):
    """A scheduler on the Slurm backend whose runners call the live test server."""
    from scheduler.loop import Scheduler

    backend = SlurmBackend(slurm_options)
    scheduler = Scheduler(
        backend, identity="slurm-test-scheduler", api_url=live_server.url, reconcile_interval=0
    )
    yield SlurmSchedulerDriver(scheduler)
    subprocess.run(
        ["scancel", f"--user={backend._user()}", "--jobname", _names(backend)], check=False
    )
