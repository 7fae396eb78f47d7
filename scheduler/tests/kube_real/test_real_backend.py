"""The Kubernetes backend itself against the real API: adoption, stuck pods, orphans."""

from __future__ import annotations

import dataclasses

import pytest
from kubernetes import client as k8s

from scheduler.backends.base import BackendRefused
from scheduler.backends.kubernetes import JobOptions, KubernetesBackend, LimitedApiClient
from scheduler.backends.kubernetes.client import TokenBucket, load_configuration
from scheduler.backends.kubernetes.manifests import job_manifest
from scheduler.tests.kube_real.petri import RUNNER_IMAGE, wait_for
from scheduler.tests.kube_real.workloads import INSTALLATION, spec

# One worker runs every real-cluster test, one after another (conftest: the outage goes last).
pytestmark = [pytest.mark.requires("kube"), pytest.mark.xdist_group("kube-cluster")]


@pytest.fixture
def backend(backend_namespace):
    made = KubernetesBackend(
        LimitedApiClient(load_configuration(), TokenBucket(50, 50)),
        namespace=backend_namespace,
        options=JobOptions(runner_image=RUNNER_IMAGE, ttl_seconds=300),
        start_grace=5,
        installation=INSTALLATION,
    )
    yield made
    made.shutdown()


def test_a_create_whose_answer_was_lost_is_adopted_one_job_not_two(
    backend, backend_namespace, kube
):
    batch = k8s.BatchV1Api(kube)
    attempt = spec(101)
    # The create reached the API server but its answer never came back: the Job exists.
    batch.create_namespaced_job(backend_namespace, job_manifest(attempt, backend.options))

    backend.submit(attempt)

    jobs = batch.list_namespaced_job(backend_namespace, label_selector="petri.dev/job=101").items
    assert len(jobs) == 1
    secret = k8s.CoreV1Api(kube).read_namespaced_secret(attempt.handle, backend_namespace)
    assert secret.metadata.owner_references[0].uid == jobs[0].metadata.uid
    backend.cancel(attempt.handle)


def test_a_job_of_another_installation_under_that_name_is_not_adopted(
    backend, backend_namespace, kube
):
    theirs = spec(102, installation="other9")
    mine = dataclasses.replace(spec(102), handle=theirs.handle)
    k8s.BatchV1Api(kube).create_namespaced_job(
        backend_namespace, job_manifest(theirs, backend.options)
    )

    with pytest.raises(BackendRefused, match="did not create"):
        backend.submit(mine)

    secrets = k8s.CoreV1Api(kube).list_namespaced_secret(backend_namespace).items
    assert theirs.handle not in {s.metadata.name for s in secrets}


def test_unfinished_handles_lists_only_this_installations_unfinished_jobs(
    backend, backend_namespace, kube
):
    batch = k8s.BatchV1Api(kube)
    mine, theirs = spec(104), spec(105, installation="other8")
    for attempt in (mine, theirs):
        batch.create_namespaced_job(backend_namespace, job_manifest(attempt, backend.options))

    handles = backend.unfinished_handles()

    assert mine.handle in handles and theirs.handle not in handles
    for attempt in (mine, theirs):
        backend.cancel(attempt.handle)


def test_a_pod_stuck_in_a_config_error_fails_after_the_grace_with_the_reason(
    backend, stuck, backend_namespace, kube
):
    attempt = stuck  # created at the start of the session (conftest)
    core = k8s.CoreV1Api(kube)
    selector = f"petri.dev/handle={attempt.handle}"

    def waiting_reasons() -> set[str]:
        pods = core.list_namespaced_pod(backend_namespace, label_selector=selector).items
        statuses = [s for p in pods for s in p.status.container_statuses or []]
        return {s.state.waiting.reason for s in statuses if s.state.waiting}

    # The kubelet says so first (on a busy machine, a while after the pod was scheduled).
    wait_for(
        lambda: "CreateContainerConfigError" in waiting_reasons(),
        120,
        "the pod to wait in CreateContainerConfigError",
        every=1,
    )

    state = wait_for(
        lambda: (s := backend.reconcile([attempt.handle])[attempt.handle]).ended and s,
        120,
        "the stuck attempt to fail",
        every=1,
    )

    assert state.reason == "start_failed"
    assert "CreateContainerConfigError" in state.message
    # The garbage collector and a busy kubelet (the session's other pods) take their time.
    wait_for(
        lambda: not core.list_namespaced_pod(backend_namespace, label_selector=selector).items,
        180,
        "the stuck pod to be removed",
    )
