"""What the local backend hands its runners: an allow-listed environment, limits, a sandbox."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from django.utils import timezone

from jobs import services
from jobs.models import Job, JobStatus
from jobs.tests.factories import make_csv, make_experiment
from scheduler.backends.base import JobSpec
from scheduler.backends.local import LocalBackend, SandboxSettings
from scheduler.backends.local_env import limits_env
from scheduler.backends.noop import NoopBackend
from scheduler.loop import Scheduler

CANARY = "canary-4711"
SECRETS = ("DATABASE_URL", "REDIS_URL", "PETRI_SECRET_KEY", "PETRI_EMAIL_PASSWORD", "AWS_SECRET")


def backend(tmp_path: Path, **sandbox) -> LocalBackend:
    return LocalBackend(
        max_running=2,
        runner_dir=tmp_path,
        algorithms_dir=tmp_path,
        log_dir=tmp_path,
        sandbox=SandboxSettings(**sandbox),
    )


def spec(handle: str = "petri-1-1", **fields) -> JobSpec:
    return JobSpec(
        job_id=1,
        attempt=1,
        handle=handle,
        token="1.1.t",
        api_url="http://x",
        algorithm="a",
        **fields,
    )


def test_the_runner_env_is_an_allow_list_with_no_server_secret(tmp_path, monkeypatch):
    for name in SECRETS:
        monkeypatch.setenv(name, CANARY)
    monkeypatch.setenv("LC_ALL", "C.UTF-8")

    env = backend(tmp_path)._runner_env("http://api", "1.1.token")

    assert not [name for name, value in env.items() if CANARY in value]
    assert env["PETRI_JOB_TOKEN"] == "1.1.token" and env["PETRI_API_URL"] == "http://api"
    assert env["LC_ALL"] == "C.UTF-8"
    assert env["PYTHONPATH"] == str(tmp_path)


def test_limits_come_from_the_experiments_resources_and_timeout(tmp_path, monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    sandbox = backend(tmp_path, max_processes=100, max_file_mb=3).sandbox
    limits = limits_env(spec(resources={"cpu": 1.5, "memory": "512Mi"}, timeout=100), sandbox)

    assert limits["PETRI_SANDBOX_MEMORY_BYTES"] == str(512 * 2**20)
    assert limits["PETRI_SANDBOX_CPU_SECONDS"] == "150"
    assert limits["PETRI_SANDBOX_MAX_PROCESSES"] == "100"
    assert limits["PETRI_SANDBOX_MAX_FILE_BYTES"] == str(3 * 2**20)
    assert limits["OMP_NUM_THREADS"] == "2"


def test_without_resources_or_timeout_the_defaults_apply(tmp_path):
    limits = limits_env(spec(), backend(tmp_path).sandbox)

    assert limits["PETRI_SANDBOX_MEMORY_BYTES"] == str(2**30)
    assert limits["PETRI_SANDBOX_CPU_SECONDS"] == str(24 * 3600)


@pytest.mark.skipif(os.geteuid() != 0, reason="uids are handed out only when the server is root")
def test_as_root_each_running_job_gets_a_uid_of_its_own(tmp_path):
    local = backend(tmp_path, uid_base=5000)

    class Alive:
        def poll(self):
            return None

    first = local._take_uid("petri-1-1")
    local._procs["petri-1-1"] = Alive()
    second = local._take_uid("petri-2-1")
    local._procs["petri-2-1"] = Alive()
    del local._procs["petri-1-1"]  # that job ended: its uid is free again
    third = local._take_uid("petri-3-1")

    assert (first, second, third) == (5000, 5001, 5000)


@pytest.mark.requires("bwrap")
def test_the_sandbox_is_checked_once_and_a_missing_bwrap_is_named(tmp_path, settings):
    working = backend(tmp_path)
    working.runner_dir = settings.PETRI_RUNNER_DIR
    assert working.sandbox_problem() is None

    missing = backend(tmp_path, bwrap="/nonexistent/bwrap")
    missing.runner_dir = settings.PETRI_RUNNER_DIR
    assert "/nonexistent/bwrap" in missing.sandbox_problem()
    missing.sandbox = SandboxSettings()  # checked once: a later fix needs a restart
    assert "/nonexistent/bwrap" in missing.sandbox_problem()


@pytest.mark.django_db(transaction=True)
def test_a_running_runners_own_environment_holds_no_server_secret(
    user, catalog, local_scheduler, monkeypatch
):
    for name in SECRETS:
        monkeypatch.setenv(name, CANARY)
    experiment = make_experiment(
        user, catalog["sleep-and-score"], parameters={"duration": 60, "steps": 60}
    )

    def running():
        return Job.objects.filter(experiment=experiment, status=JobStatus.RUNNING).first()

    job = local_scheduler.run_until(running, what="the job to run")
    runner = local_scheduler.backend._procs[job.handle]
    environ = Path(f"/proc/{runner.pid}/environ").read_bytes().decode().split("\0")
    names = {entry.split("=", 1)[0] for entry in environ if entry}

    assert CANARY not in "".join(environ)
    assert not names & set(SECRETS)
    # Forked by the warm runner host, a runner's environment block is the host's, made by the
    # backend from the allow list: the attempt's token is added in the forked runner alone.
    assert "PETRI_ALGORITHMS_DIR" in names
    assert "PETRI_JOB_TOKEN" not in names


class Started:
    """What the runner host was asked to start: the attempts' environments, by handle."""

    def __init__(self) -> None:
        self.env: dict[str, dict[str, str]] = {}

    def __call__(self, handle: str, env: dict[str, str], log_file: Path):
        self.env[handle] = env

        class Alive:
            pid = 1

            def poll(self):
                return None

        return Alive()


def test_a_runner_is_handed_its_spec_unless_it_is_too_large_for_the_environment(tmp_path):
    local = backend(tmp_path, kind="none")
    local.host.start = started = Started()
    small = {"job": 1, "parameters": {"x": 1}}
    large = {"job": 2, "parameters": {"blob": "x" * 100_000}}

    local.submit(spec("petri-1-1", runner_spec=small))
    local.submit(spec("petri-2-1", runner_spec=large))

    assert json.loads(started.env["petri-1-1"]["PETRI_JOB_SPEC"]) == small
    assert "PETRI_JOB_SPEC" not in started.env["petri-2-1"]  # that runner fetches it


class HandingBackend(NoopBackend):
    hands_spec = True


@pytest.mark.django_db
@pytest.mark.parametrize("dataset", ["none", "without truth", "with truth"])
def test_the_scheduler_hands_a_backend_that_asks_the_very_spec_the_runner_api_serves(
    user, catalog, client, dataset
):
    data = None
    if dataset != "none":
        truth = (
            {"nodes": ["x", "y"], "edges": [{"source": "x", "target": "y", "type": "directed"}]}
            if dataset == "with truth"
            else None
        )
        data, _ = services.create_dataset(owner=user, upload=make_csv(3), truth=truth)
    make_experiment(user, catalog["sleep-and-score"], parameters={"x": [1, 2]}, dataset=data)
    handing, plain = HandingBackend(), NoopBackend()

    Scheduler(handing, batch=1).dispatch(timezone.now())
    Scheduler(plain, batch=1).dispatch(timezone.now())

    [handed] = handing.submitted.values()
    served = client.get("/api/runner/job/", HTTP_AUTHORIZATION=f"Bearer {handed.token}")
    assert handed.runner_spec == served.json()
    assert [s.runner_spec for s in plain.submitted.values()] == [None]
