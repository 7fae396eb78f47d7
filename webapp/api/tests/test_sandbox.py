"""Algorithms on the local backend attack from inside a job: what they reach, what stops them."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys

import pytest
import yaml
from django.conf import settings
from django.db import connection

from jobs import services
from jobs.catalog import sync_algorithms
from jobs.models import FailureReason, Job
from jobs.tests.factories import make_experiment
from scheduler.backends.local import SandboxSettings
from webapp.api.tests.sandbox_probes import HOG_SCHEMA, HOGS, probe_source, zipped

pytestmark = pytest.mark.django_db(transaction=True)

CANARY = "canary-secret-4711"
SECRETS = (
    "DATABASE_URL",
    "REDIS_URL",
    "PETRI_SECRET_KEY",
    "PETRI_EMAIL_PASSWORD",
    "PETRI_GITHUB_CLIENT_SECRET",
    "PETRI_METRICS_TOKEN",
    "AWS_SECRET_ACCESS_KEY",
)
# What an algorithm's environment may hold at all (docs/sandbox.md).
ALLOWED_ENV = {
    "PATH",
    "HOME",
    "TMPDIR",
    "LANG",
    "LANGUAGE",
    "TZ",
    "PWD",
    "PYTHONPATH",
    "PYTHONUNBUFFERED",
    "PYTHONDONTWRITEBYTECODE",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "PETRI_PARAMS_FILE",
    "PETRI_OUTPUT_DIR",
    "PETRI_DATASET_FILE",
    "PETRI_TRUTH_FILE",
}


@pytest.fixture
def process_holding_a_token():
    """A process of the server's user with a token in its environment, as the runner has."""
    process = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)"],
        env={"PETRI_JOB_TOKEN": f"1.1.{CANARY}"},
    )
    yield process
    process.kill()
    process.wait()


@pytest.fixture
def secrets_in_server_env(monkeypatch):
    """The server's environment holds every kind of secret, as a production one does."""
    for name in SECRETS:
        monkeypatch.setenv(name, f"{name.lower()}-{CANARY}")


def targets(live_server_url: str, token_holder: subprocess.Popen) -> dict:
    """What the probe must not see, write or reach: the server's files, processes and ports."""
    db_name = connection.settings_dict["NAME"]
    hidden = [
        str(settings.VAR_DIR),
        str(settings.VAR_DIR / "secret_key"),
        str(settings.MEDIA_ROOT),
        str(settings.BASE_DIR / "manage.py"),
        str(settings.BASE_DIR / "webapp" / "settings.py"),
        "/etc/shadow",
        "/etc/passwd",
        "/root/.ssh",
        "/var/run/postgresql",
    ]
    if connection.vendor == "sqlite":
        hidden.append(str(db_name))
    runner = settings.PETRI_RUNNER_DIR
    return {
        "hidden": hidden,
        "unwritable": [
            "/petri-probe",
            "/usr/petri-probe",
            "/etc/petri-probe",
            str(settings.BASE_DIR / "petri-probe"),
            str(runner / "petri-probe"),
        ],
        # This test process serves the API, with the database and secret key in its memory.
        "pids": [os.getpid(), os.getppid(), token_holder.pid],
        "ports": [5432, 6379, int(live_server_url.rsplit(":", 1)[1])],
    }


def run_to_end(local_scheduler, api, experiment_id: int, timeout: float = 120) -> list[dict]:
    def ended():
        body = api.get(f"/api/experiments/{experiment_id}/").json()
        return body if body["status"] not in ("waiting", "running") else None

    local_scheduler.run_until(ended, timeout=timeout, what="the experiment to end")
    return api.get(f"/api/jobs/?experiment={experiment_id}").json()["results"]


def submit_upload(api, source: str, **body) -> int:
    artifact = api.post("/api/artifacts/", {"file": zipped(source)}, format="multipart")
    assert artifact.status_code == 201, artifact.content
    created = api.post(
        "/api/experiments/",
        {
            "artifact": artifact.json()["id"],
            "entrypoint": ["python", "main.py"],
            "max_attempts": 1,
            **body,
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    return created.json()["id"]


def probe_report(api, job: dict) -> dict:
    assert job["status"] == "succeeded", Job.objects.get(pk=job["id"]).error
    download = api.get(f"/api/jobs/{job['id']}/files/probe.json")
    assert download.status_code == 200
    return json.loads(b"".join(download.streaming_content))


def log_lines(api, job: dict) -> list[str]:
    return api.get(f"/api/jobs/{job['id']}/log/").json()["lines"]


def assert_confined(report: dict, job: dict, api) -> None:
    env = report["env"]
    assert set(env) <= ALLOWED_ENV, set(env) - ALLOWED_ENV
    assert not [name for name, value in env.items() if CANARY in value]
    assert env["HOME"] == report["cwd"]
    assert report["uid"] != 0
    assert (report["no_new_privs"], int(report["capabilities"], 16)) == ("1", 0)
    # A PID namespace of its own: bwrap's init and the probe, nothing of the server.
    assert len(report["processes"]) <= 3, report["processes"]
    assert not [cmd for cmd in report["processes"].values() if "petri_runner" in cmd]
    assert not [text for text in report["readable_environs"].values() if "PETRI_JOB_TOKEN" in text]
    assert not [text for text in report["readable_environs"].values() if CANARY in text]
    assert [path for path, seen in report["visible"].items() if seen] == []
    # The host's /tmp holds other jobs' directories; this one holds the job's own alone.
    assert report["tmp"] == [os.path.basename(os.path.dirname(report["cwd"]))]
    writes = report["writes"]
    assert {p: r for p, r in writes.items() if r == "written"} == {
        "./mine.txt": "written",
        f"{env['PETRI_OUTPUT_DIR']}/mine.txt": "written",
        "/tmp/mine.txt": "written",
    }
    # No network at all: not the database, not Redis, not the API that holds the token's job.
    assert "connected" not in report["connections"].values(), report["connections"]
    # What real algorithms need still works: the shared venv's packages, multiprocessing.
    assert report["numpy"]
    assert report["multiprocessing"] == [1, 2]
    assert any("sandbox: bwrap" in line for line in log_lines(api, job))


@pytest.mark.requires("bwrap")
def test_uploaded_code_sees_no_secret_no_server_file_no_process_and_no_network(
    api, user, local_scheduler, live_server, secrets_in_server_env, process_holding_a_token
):
    probe = probe_source(targets(live_server.url, process_holding_a_token))
    experiment = submit_upload(api, probe)
    [job] = run_to_end(local_scheduler, api, experiment)
    assert_confined(probe_report(api, job), job, api)
    # Outside the sandbox the API's port answers: the refusal inside is the namespace's doing.
    port = int(live_server.url.rsplit(":", 1)[1])
    socket.create_connection(("127.0.0.1", port), timeout=5).close()


@pytest.mark.requires("bwrap")
def test_a_catalog_algorithm_runs_in_the_same_sandbox(
    api,
    user,
    local_scheduler,
    live_server,
    secrets_in_server_env,
    process_holding_a_token,
    tmp_path,
):
    folder = tmp_path / "catalog" / "probe"
    folder.mkdir(parents=True)
    (folder / "main.py").write_text(probe_source(targets(live_server.url, process_holding_a_token)))
    manifest = {"name": "probe", "title": "Probe", "entrypoint": ["python", "main.py"]}
    (folder / "algorithm.yaml").write_text(yaml.safe_dump(manifest))
    [algorithm] = sync_algorithms(tmp_path / "catalog")
    local_scheduler.backend.algorithms_dir = tmp_path / "catalog"
    experiment = make_experiment(user, algorithm, max_attempts=1)
    [job] = run_to_end(local_scheduler, api, experiment.pk)
    assert_confined(probe_report(api, job), job, api)


@pytest.mark.requires("bwrap")
def test_a_fork_bomb_memory_cpu_and_file_hogs_and_a_full_tmp_are_stopped_by_their_limits(
    api, user, local_scheduler
):
    local_scheduler.backend.sandbox = SandboxSettings(max_processes=32, max_file_mb=2)
    experiment = submit_upload(
        api,
        HOGS,
        parameter_schema=HOG_SCHEMA,
        parameters={"mode": ["fork", "memory", "cpu", "file", "tmp"]},
        # 0.025 cores for 40 s: 1 CPU-second per process.
        resources={"memory": "256Mi", "cpu": 0.025},
        timeout=40,
    )
    jobs = {job["parameters"]["mode"]: job for job in run_to_end(local_scheduler, api, experiment)}
    assert {mode: job["status"] for mode, job in jobs.items()} == dict.fromkeys(
        ("fork", "memory", "cpu", "file", "tmp"), "failed"
    )
    assert "reached its limit of 32 processes" in jobs["fork"]["error"]
    assert "ran out of its memory limit of 256 MB" in jobs["memory"]["error"]
    assert jobs["memory"]["failure_reason"] == FailureReason.OOM_KILLED
    assert re.search(r"SIGXCPU.*exceeded its CPU time limit of 1 s", jobs["cpu"]["error"])
    assert "wrote a file past its size limit of 2 MB" in jobs["file"]["error"]
    assert "filled its disk or its /tmp or /dev/shm (each holds 256 MB)" in jobs["tmp"]["error"]
    for mode in ("fork", "cpu", "file", "tmp"):
        assert jobs[mode]["failure_reason"] == FailureReason.ALGORITHM_ERROR, mode


def test_without_bwrap_uploaded_code_is_refused_and_catalog_code_runs_unconfined(
    api, user, catalog, local_scheduler
):
    local_scheduler.backend.sandbox = SandboxSettings(bwrap="/nonexistent/bwrap")
    uploaded = submit_upload(api, "print('never runs')\n")
    [refused] = run_to_end(local_scheduler, api, uploaded)
    assert (refused["status"], refused["failure_reason"]) == ("failed", "backend_error")
    assert "uploaded code runs only inside the local sandbox" in refused["error"]
    assert "/nonexistent/bwrap" in refused["error"]
    assert not any("never runs" in line for line in log_lines(api, refused))

    experiment = make_experiment(
        user, catalog["sleep-and-score"], max_attempts=1, parameters={"duration": 0, "steps": 1}
    )
    [ran] = run_to_end(local_scheduler, api, experiment.pk)
    assert ran["status"] == "succeeded", ran["error"]
    assert any("sandbox: none on this server" in line for line in log_lines(api, ran))


def test_the_sandbox_can_be_turned_off_and_then_refuses_uploaded_code(api, user, local_scheduler):
    local_scheduler.backend.sandbox = SandboxSettings(kind="none")
    [refused] = run_to_end(local_scheduler, api, submit_upload(api, "print('never runs')\n"))
    assert refused["failure_reason"] == "backend_error"
    assert "PETRI_LOCAL_SANDBOX=none" in refused["error"]


def test_a_runner_token_opens_no_endpoint_but_the_runners(client, user, catalog):
    make_experiment(user, catalog["sleep-and-score"])
    [claimed] = services.claim_waiting_jobs(scheduler="test", backend="noop", limit=1)
    for scheme in ("Bearer", "Token"):
        auth = {"HTTP_AUTHORIZATION": f"{scheme} {claimed.token}"}
        for path in ("/api/experiments/", "/api/jobs/", "/api/datasets/", "/api/artifacts/"):
            assert client.get(path, **auth).status_code in (401, 403), (scheme, path)
        created = client.post(
            "/api/experiments/",
            {"algorithm": "sleep-and-score"},
            content_type="application/json",
            **auth,
        )
        assert created.status_code in (401, 403), scheme
    runner_call = client.get("/api/runner/job/", HTTP_AUTHORIZATION=f"Bearer {claimed.token}")
    assert runner_call.status_code == 200
