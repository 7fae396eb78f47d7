"""A control-plane outage in the middle of a 200-job dispatch, on the real cluster."""

from __future__ import annotations

import subprocess

import pytest

from scheduler.tests.cluster_lock import exclusive_cluster
from scheduler.tests.kube_real.petri import kit_dir, kube_state, wait_for

# One worker runs every real-cluster test, one after another (conftest: the outage goes last).
pytestmark = [pytest.mark.requires("kube"), pytest.mark.xdist_group("kube-cluster")]

OUTAGE_SECONDS = 20


@exclusive_cluster
def test_an_apiserver_restart_mid_dispatch_burns_no_attempt_and_orphans_nothing(
    parked_petri, batch, core
):
    petri = parked_petri
    # 20 x 10 = 200 jobs; their pods wait for a node that never comes, so none runs.
    experiment = petri.submit(
        algorithm="sleep-and-score",
        parameters={"x": list(range(-10, 10)), "y": list(range(10)), "duration": 0},
    )
    namespace = petri.namespace
    wait_for(
        lambda: len(batch.list_namespaced_job(namespace).items) >= 10,
        60,
        "the dispatch to be under way",
    )
    outage = subprocess.run(
        [str(kit_dir() / "restart.sh"), str(kube_state()), "kube-apiserver", str(OUTAGE_SECONDS)],
        capture_output=True,
        text=True,
        timeout=OUTAGE_SECONDS + 60,
    )
    assert outage.returncode == 0, outage.stderr
    during = {j["status"] for j in petri.jobs(experiment)}
    assert "waiting" in during, "the outage should have caught jobs not yet dispatched"

    def all_dispatched():
        jobs = petri.jobs(experiment)
        return jobs if all(j["status"] == "pending" for j in jobs) else None

    jobs = wait_for(all_dispatched, 180, "every job to be dispatched after the outage", every=0.5)

    assert len(jobs) == 200
    assert {j["attempt"] for j in jobs} == {1}, "an attempt was spent on the outage"
    assert not [j for j in jobs if j["failure_reason"]]
    assert "dispatch paused" in petri.log()
    # Exactly one Job per job, named by its handle, and one pod per Job: nothing orphaned.
    k8s_jobs = batch.list_namespaced_job(namespace).items
    assert sorted(j.metadata.name for j in k8s_jobs) == sorted(j["handle"] for j in jobs)

    def one_pod_each():
        pods = core.list_namespaced_pod(namespace).items
        owners = [p.metadata.labels.get("petri.dev/handle") for p in pods]
        return len(pods) == 200 and len(set(owners)) == 200

    wait_for(one_pod_each, 120, "one pod per Job", every=0.5)

    petri.post(f"/api/experiments/{experiment}/cancel/")
    final = petri.wait_final(experiment, timeout=180)
    assert {j["status"] for j in final} == {"cancelled"}
    wait_for(
        lambda: (
            not batch.list_namespaced_job(namespace).items
            and not core.list_namespaced_pod(namespace).items
        ),
        180,
        "every Job and pod to be gone after the cancel",
        every=0.5,
    )
