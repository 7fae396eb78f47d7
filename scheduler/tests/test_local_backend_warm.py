"""Warm zygotes and the runner host on the local backend, with real runners and a live server."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from jobs.models import Job, JobEvent, JobStatus
from jobs.tests.factories import make_experiment

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.requires("bwrap")]

WARM_LINE = "a fork of the algorithm's warm zygote"


def log_lines(job: Job) -> list[str]:
    return [line for e in JobEvent.objects.filter(job=job, kind="log") for line in e.data["lines"]]


def ran_warm(job: Job) -> bool:
    return any(WARM_LINE in line for line in log_lines(job))


def all_succeeded(experiment) -> bool:
    jobs = Job.objects.filter(experiment=experiment)
    return jobs.exists() and not jobs.exclude(status=JobStatus.SUCCEEDED).exists()


def test_catalog_jobs_after_the_first_are_forked_from_the_algorithms_warm_zygote(
    user, catalog, local_scheduler
):
    local_scheduler.backend.max_running = 1
    experiment = make_experiment(user, catalog["sleep-and-score"], repeats=4)

    local_scheduler.run_until(lambda: all_succeeded(experiment), timeout=120, what="four jobs")

    warm = [job for job in Job.objects.filter(experiment=experiment) if ran_warm(job)]
    assert len(warm) >= 3, "the zygote is ready after its first job at the latest"
    assert set(local_scheduler.backend.warm.pids()) == {"sleep-and-score"}
    for job in warm:
        assert "score" in job.result.metrics
        assert any(line.startswith("sleep-and-score: x=") for line in log_lines(job))


def test_a_crashed_zygote_is_replaced_and_its_running_job_is_not_lost(
    user, catalog, local_scheduler
):
    backend = local_scheduler.backend
    backend.max_running = 1
    warmup = make_experiment(user, catalog["sleep-and-score"])
    local_scheduler.run_until(lambda: all_succeeded(warmup), timeout=120, what="a first job")
    wait_for_socket(backend)
    experiment = make_experiment(
        user, catalog["sleep-and-score"], parameters={"duration": 3.0, "steps": 3}
    )

    def running_warm():
        job = Job.objects.filter(experiment=experiment).first()
        return job is not None and job.status == JobStatus.RUNNING and ran_warm(job)

    local_scheduler.run_until(running_warm, timeout=60, what="the job to run warm")
    first = backend.warm.pids()["sleep-and-score"]
    os.killpg(first, signal.SIGKILL)
    local_scheduler.run_until(lambda: all_succeeded(experiment), timeout=120, what="the job")

    job = Job.objects.get(experiment=experiment)
    assert job.attempt == 1
    assert any("running it again cold" in line for line in log_lines(job))
    after = make_experiment(user, catalog["sleep-and-score"])
    local_scheduler.run_until(lambda: all_succeeded(after), timeout=120, what="a later job")
    assert backend.warm.pids()["sleep-and-score"] != first


def wait_for_socket(backend, timeout: float = 60.0) -> None:
    """Until the algorithm's zygote has preloaded and listens."""
    path = backend.warm.base / "sockets" / "sleep-and-score.sock"
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, "the zygote never listened"
        threading.Event().wait(0.05)


def test_uploaded_code_never_reaches_a_zygote(tmp_path, settings):
    from scheduler.backends.base import JobSpec
    from scheduler.backends.local import LocalBackend

    backend = LocalBackend(
        max_running=2,
        runner_dir=settings.PETRI_RUNNER_DIR,
        algorithms_dir=settings.PETRI_ALGORITHMS_DIR,
        log_dir=tmp_path / "logs",
    )
    given: dict[str, dict[str, str]] = {}

    def capture(handle, env, log_file):
        given[handle] = env
        raise RuntimeError("captured, not started")

    backend.host.start = capture
    try:
        for handle, uploaded in (("petri-u-1-1", True), ("petri-c-1-1", False)):
            spec = JobSpec(
                job_id=1,
                attempt=1,
                handle=handle,
                token="t",
                api_url="http://127.0.0.1:9",
                algorithm="sleep-and-score",
                uploaded=uploaded,
            )
            with pytest.raises(RuntimeError, match="captured"):
                backend.submit(spec)
    finally:
        backend.shutdown()

    assert not any(name.startswith("PETRI_WARM") for name in given["petri-u-1-1"])
    assert given["petri-c-1-1"]["PETRI_WARM_SOCKET"].endswith("/sleep-and-score.sock")
    assert backend.warm.runner_env("no-such-algorithm") == {}
