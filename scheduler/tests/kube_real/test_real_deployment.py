"""Petri deployed on the kit as in production: k8s/overlays/kit (the dev overlay and what a
1.20 one-node cluster without kube-proxy, DNS or storage needs) applied with kubectl at the start
of the session (conftest), the web app and the scheduler running as Deployments of the
petri-web image, a sweep run to results through them."""

from __future__ import annotations

import pytest
from kubernetes import client as k8s

from scheduler.tests.kube_real.kit_deployment import APP, RUNNERS, KitDeployment, kubectl

# One worker runs every real-cluster test, one after another (conftest: the outage goes last).
pytestmark = [pytest.mark.requires("kube"), pytest.mark.xdist_group("kube-cluster")]


@pytest.fixture(scope="module")
def deployed(kit_deployment):
    if not isinstance(kit_deployment, KitDeployment):
        pytest.skip(kit_deployment)
    return kit_deployment.ready(), kit_deployment.applied


def test_the_kit_overlay_applies_with_a_v1beta1_disruption_budget(deployed):
    _, applied = deployed

    assert "poddisruptionbudget.policy/petri-web created" in applied, applied
    # 1.20 serves policy/v1beta1 only; the dev and prod overlays keep policy/v1.
    budget = kubectl("-n", APP, "get", "pdb", "petri-web", "-o", "jsonpath={.apiVersion}")
    assert budget == "policy/v1beta1"


def test_web_and_scheduler_deployments_run_a_sweep_to_results(deployed, kube):
    petri, _ = deployed
    experiment = petri.submit(algorithm="sleep-and-score", parameters={"x": [0, 1], "duration": 0})

    jobs = petri.wait_final(experiment, timeout=240)

    assert [j["status"] for j in jobs] == ["succeeded"] * 2, [j["error"] for j in jobs]
    assert sorted(j["metrics"]["score"] for j in jobs) == [-5.0, -4.0]
    # The scheduler Deployment dispatched them, into the runners' namespace.
    batch = k8s.BatchV1Api(kube)
    runner_jobs = batch.list_namespaced_job(RUNNERS, label_selector="petri.dev/job").items
    assert {j.metadata.labels["petri.dev/job"] for j in runner_jobs} >= {str(j["id"]) for j in jobs}
    core = k8s.CoreV1Api(kube)
    (scheduler,) = core.list_namespaced_pod(
        APP, label_selector="app.kubernetes.io/component=scheduler"
    ).items
    name = scheduler.metadata.name
    log = core.read_namespaced_pod_log(name, APP)
    assert f"scheduler {name} running on the kubernetes backend" in log, log[-3000:]
