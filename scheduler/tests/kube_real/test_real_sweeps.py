"""Petri on a real cluster: sweeps in real pods to results, a live log, cancel, OOM, deadline.

Every experiment here was submitted at the start of the session (conftest, workloads.py)."""

from __future__ import annotations

import pytest

from scheduler.tests.kube_real.petri import wait_for

# One worker runs every real-cluster test, one after another (conftest: the outage goes last).
pytestmark = [pytest.mark.requires("kube"), pytest.mark.xdist_group("kube-cluster")]


def score(x: float, y: float) -> float:
    return -((x - 1) ** 2) - (y + 2) ** 2


def test_a_catalog_sweep_runs_in_real_pods_to_results(petri, experiments, batch):
    experiment = experiments["catalog"]

    jobs = petri.wait_final(experiment)

    assert [j["status"] for j in jobs] == ["succeeded"] * 4, [j["error"] for j in jobs]
    for job in jobs:
        params = job["parameters"]
        assert job["metrics"]["score"] == score(params["x"], params["y"])
    k8s_jobs = batch.list_namespaced_job(
        petri.namespace, label_selector=f"petri.dev/experiment={experiment}"
    ).items
    assert len(k8s_jobs) == 4
    for k8s_job in k8s_jobs:
        labels = k8s_job.metadata.labels
        installation = labels["petri.dev/installation"]
        assert k8s_job.metadata.name.startswith(f"petri-{installation}-")
        pod = k8s_job.spec.template.spec
        assert pod.security_context.run_as_user == 10001
        assert pod.containers[0].security_context.read_only_root_filesystem is True


def test_a_sweep_of_uploaded_code_runs_in_real_pods_to_results(petri, experiments):
    jobs = petri.wait_final(experiments["uploaded"])

    assert [j["status"] for j in jobs] == ["succeeded"] * 2, [j["error"] for j in jobs]
    assert sorted(j["metrics"]["score"] for j in jobs) == [20, 30]
    assert any("uploaded code says 2" in line for line in petri.log_lines(jobs[0]["id"])) or any(
        "uploaded code says 3" in line for line in petri.log_lines(jobs[0]["id"])
    )


def test_a_running_jobs_log_is_read_live_and_cancel_deletes_its_pod(
    petri, experiments, batch, core
):
    experiment = experiments["live"]
    (job,) = petri.jobs(experiment)

    # Progress lines arrive while the job still runs.
    lines = wait_for(
        lambda: [line for line in petri.log_lines(job["id"]) if "step" in line.lower()],
        90,
        "log lines of the running job",
    )
    assert lines
    running = petri.get(f"/api/jobs/{job['id']}/")
    assert running["status"] == "running"
    handle = (
        batch.list_namespaced_job(petri.namespace, label_selector=f"petri.dev/job={job['id']}")
        .items[0]
        .metadata.name
    )

    def pods() -> list:
        return core.list_namespaced_pod(
            petri.namespace, label_selector=f"petri.dev/handle={handle}"
        ).items

    assert pods(), "the running job's pod is found by its handle"
    petri.post(f"/api/jobs/{job['id']}/cancel/")

    (cancelled,) = petri.wait_final(experiment, timeout=60)
    assert cancelled["status"] == "cancelled"

    # Deleting the Job marks its pod for deletion at once; the kubelet removes the pod only
    # after its container stopped and its next status sync, which a loaded node puts off by
    # tens of seconds (12 s seen with the two cores busy), so that wait is longer.
    wait_for(
        lambda: all(pod.metadata.deletion_timestamp for pod in pods()),
        60,
        "the cancelled job's pod to be deleted",
    )
    wait_for(lambda: not pods(), 180, "the cancelled job's pod to go")


def test_a_job_over_its_memory_limit_fails_as_oom_killed(petri, experiments):
    (job,) = petri.wait_final(experiments["oom"], timeout=120)

    assert (job["status"], job["failure_reason"]) == ("failed", "oom_killed"), job["error"]
    assert "OOMKilled" in job["error"]


def test_a_job_past_its_timeout_fails_as_deadline_exceeded(petri, experiments):
    (job,) = petri.wait_final(experiments["deadline"], timeout=120)

    assert (job["status"], job["failure_reason"]) == ("failed", "deadline_exceeded"), job
