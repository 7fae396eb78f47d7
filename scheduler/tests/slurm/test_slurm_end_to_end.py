"""Petri on Slurm: the API, the queue, the scheduler, sbatch, and real runners on the node."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from jobs.models import FailureReason, Job, JobStatus
from scheduler.tests.cluster_lock import exclusive_cluster
from scheduler.tests.slurm.conftest import slurm_conf, wait_for

pytestmark = [
    pytest.mark.requires("slurm"),
    pytest.mark.system,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("slurm-cluster"),
]


def _submit(api, **parameters) -> int:
    created = api.post(
        "/api/experiments/",
        {"algorithm": "sleep-and-score", "parameters": parameters},
        format="json",
    )
    assert created.status_code == 201, created.content
    return created.json()["id"]


def _experiment(api, experiment_id: int) -> dict:
    return api.get(f"/api/experiments/{experiment_id}/").json()


def test_a_sweep_runs_on_slurm_to_its_results(api, catalog, slurm_scheduler):
    experiment_id = _submit(api, x=[0, 1], y=-2, duration=0.2, steps=2)

    def finished():
        body = _experiment(api, experiment_id)
        return body if body["status"] in ("succeeded", "failed") else None

    body = slurm_scheduler.run_until(finished, timeout=90, what="both jobs to finish")
    assert body["status"] == "succeeded", list(Job.objects.values_list("status", "error"))
    jobs = api.get(f"/api/jobs/?experiment={experiment_id}").json()["results"]
    scores = sorted(job["metrics"]["score"] for job in jobs)
    assert scores == [-1.0, 0.0]
    log = api.get(f"/api/jobs/{jobs[0]['id']}/log/").json()
    assert any("step" in line for line in log["lines"])


def test_cancelling_a_running_job_scancels_its_slurm_job(api, catalog, slurm_scheduler):
    experiment_id = _submit(api, duration=60, steps=60)
    job = Job.objects.get(experiment_id=experiment_id)
    slurm_scheduler.run_until(
        lambda: Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).exists(),
        timeout=60,
        what="the job to start running",
    )
    assert api.post(f"/api/jobs/{job.pk}/cancel/").status_code in (200, 202)
    slurm_scheduler.run_until(
        lambda: Job.objects.filter(pk=job.pk, status=JobStatus.CANCELLED).exists(),
        timeout=30,
        what="the job to be cancelled",
    )
    backend = slurm_scheduler.backend
    name = backend.job_name(Job.objects.get(pk=job.pk).handle)
    state = wait_for(
        lambda: _slurm_state(name) not in ("RUNNING", "COMPLETING") and _slurm_state(name),
        30,
        "Slurm to end the job",
    )
    assert state == "CANCELLED"


@exclusive_cluster
def test_a_slurmctld_restart_while_jobs_run_fails_nothing(api, catalog, slurm_scheduler):
    experiment_id = _submit(api, x=[0, 1], duration=4, steps=4)
    slurm_scheduler.run_until(
        lambda: (
            Job.objects.filter(experiment_id=experiment_id, status=JobStatus.RUNNING).count() == 2
        ),
        timeout=60,
        what="both jobs to run",
    )
    pid_file = slurm_conf().parent / "slurmctld.pid"
    _stop(int(pid_file.read_text()))
    try:
        # With the controller gone, reconcile cannot read states: nothing may be judged lost.
        for _ in range(3):
            slurm_scheduler.scheduler.tick()
        assert not Job.objects.filter(status=JobStatus.FAILED).exists()
    finally:
        subprocess.run(["slurmctld", "-f", str(slurm_conf())], check=True)
        wait_for(lambda: _ping(), 30, "slurmctld to answer again")

    def finished():
        body = _experiment(api, experiment_id)
        return body if body["status"] in ("succeeded", "failed") else None

    body = slurm_scheduler.run_until(finished, timeout=90, what="the jobs to finish")
    assert body["status"] == "succeeded", list(Job.objects.values_list("status", "error"))
    assert set(Job.objects.values_list("attempt", flat=True)) == {1}


def test_a_job_over_its_slurm_memory_fails_as_oom_killed(api, catalog, slurm_scheduler):
    created = api.post(
        "/api/experiments/",
        {
            "algorithm": "sleep-and-score",
            "parameters": {"duration": 30, "steps": 30},
            "resources": {"memory": "16Mi"},  # less than the runner itself needs
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    job = Job.objects.get(experiment_id=created.json()["id"])
    slurm_scheduler.run_until(
        lambda: Job.objects.filter(pk=job.pk, failure_reason=FailureReason.OOM_KILLED).exists(),
        timeout=90,
        what="the attempt to fail as oom_killed",
    )


def _slurm_state(name: str) -> str:
    out = subprocess.run(
        ["squeue", "-h", "--states=all", f"--name={name}", "-o", "%T"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    return out[-1] if out else ""


def _ping() -> bool:
    return subprocess.run(["scontrol", "ping"], capture_output=True, check=False).returncode == 0


def _stop(pid: int) -> None:
    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: not Path(f"/proc/{pid}").exists(), 30, "slurmctld to stop")


def test_a_scheduler_killed_mid_dispatch_leaves_one_slurm_job_that_the_next_one_adopts(
    api, catalog, slurm_scheduler, settings
):
    from datetime import timedelta

    from django.utils import timezone

    from jobs import services
    from scheduler.backends.base import JobSpec

    experiment_id = _submit(api, duration=0.5, steps=2)
    backend = slurm_scheduler.backend
    # The first scheduler claims and submits, then dies before it can mark the job dispatched.
    (item,) = services.claim_waiting_jobs(scheduler="dead", backend=backend.name, limit=10)
    experiment = item.experiment
    backend.submit(
        JobSpec(
            job_id=item.job_id,
            attempt=item.attempt,
            handle=item.handle,
            token=item.token,
            api_url=slurm_scheduler.scheduler.api_url,
            algorithm=experiment.algorithm.name,
            resources=experiment.resources,
            owner=experiment.owner.get_username(),
        )
    )
    later = timezone.now() + timedelta(seconds=settings.PETRI_DISPATCH_TIMEOUT + 1)
    slurm_scheduler.scheduler.clock = lambda: later
    slurm_scheduler.scheduler.reconcile_interval = 0

    def finished():
        body = _experiment(api, experiment_id)
        return body if body["status"] in ("succeeded", "failed") else None

    body = slurm_scheduler.run_until(finished, timeout=60, what="the adopted job to finish")
    assert body["status"] == "succeeded", list(Job.objects.values_list("status", "error"))
    names = subprocess.run(
        ["squeue", "-h", "--states=all", "-o", "%j"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert names.count(backend.job_name(item.handle)) == 1
    assert Job.objects.get(pk=item.job_id).attempt == 1


def test_an_experiment_timeout_ends_the_attempt_as_deadline_exceeded(api, catalog, slurm_scheduler):
    created = api.post(
        "/api/experiments/",
        {"algorithm": "sleep-and-score", "parameters": {"duration": 60, "steps": 60}, "timeout": 2},
        format="json",
    )
    assert created.status_code == 201, created.content
    job = Job.objects.get(experiment_id=created.json()["id"])
    slurm_scheduler.run_until(
        lambda: Job.objects.filter(
            pk=job.pk, failure_reason=FailureReason.DEADLINE_EXCEEDED
        ).exists(),
        timeout=60,
        what="the attempt to fail on its deadline",
    )


def test_one_installation_runs_one_experiment_locally_and_another_on_slurm(
    api, catalog, slurm_scheduler, local_scheduler, settings
):
    settings.PETRI_BACKEND = "local"
    settings.PETRI_BACKENDS = ["local", "slurm"]
    slurm_scheduler.scheduler.takes_default = False
    on_slurm = api.post(
        "/api/experiments/",
        {"algorithm": "sleep-and-score", "parameters": {"x": 1, "y": -2}, "backend": "slurm"},
        format="json",
    ).json()["id"]
    on_local = _submit(api, x=0, y=-2)

    def both_finished():
        slurm_scheduler.scheduler.tick()
        bodies = [_experiment(api, pk) for pk in (on_slurm, on_local)]
        return bodies if all(b["status"] in ("succeeded", "failed") for b in bodies) else None

    bodies = local_scheduler.run_until(both_finished, timeout=90, what="both experiments")
    assert [b["status"] for b in bodies] == ["succeeded", "succeeded"]
    assert Job.objects.get(experiment_id=on_slurm).backend == "slurm"
    assert Job.objects.get(experiment_id=on_local).backend == "local"
