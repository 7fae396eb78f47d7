"""Creating an attempt's Job and Secret, adopting them after a crash, and deleting them."""

from __future__ import annotations

import pytest
from kubernetes import client as k8s

from scheduler.backends.base import BackendError, BackendRefused, BackendUnavailable
from scheduler.backends.kubernetes import JobOptions, KubernetesBackend, LimitedApiClient
from scheduler.backends.kubernetes.client import TokenBucket
from scheduler.backends.kubernetes.manifests import job_manifest
from scheduler.tests.kube.helpers import RUNNER_IMAGE, make_spec


def test_submit_creates_the_job_and_a_secret_owned_by_it(cluster, backend):
    spec = make_spec()
    backend.submit(spec)
    job, secret = cluster.job(spec.handle), cluster.secret(spec.handle)
    assert job is not None and secret is not None
    (owner,) = secret["metadata"]["ownerReferences"]
    assert owner["uid"] == job["metadata"]["uid"]
    assert cluster.token(spec.handle) == spec.token
    assert cluster.calls() == {("POST", "jobs"): 1, ("POST", "secrets"): 1}
    # The client sent the manifest as built, not a lossy round trip through its models.
    assert cluster.created[0] == job_manifest(spec, backend.options)


def test_every_body_sent_passes_strict_1_33_validation(cluster, backend):
    for job_id in range(1, 4):
        backend.submit(make_spec(job_id=job_id, resources={"cpu": 0.5, "memory": "1Gi", "gpu": 1}))
    assert [body["kind"] for body in cluster.created] == ["Job", "Secret"] * 3
    assert cluster.invalid == []


def test_submitting_again_after_a_crash_adopts_the_job_and_keeps_its_token(
    cluster, backend, make_backend
):
    spec = make_spec()
    backend.submit(spec)
    uid = cluster.job(spec.handle)["metadata"]["uid"]

    restarted = make_backend()  # a new scheduler process: it remembers nothing
    restarted.submit(spec)

    assert cluster.job(spec.handle)["metadata"]["uid"] == uid
    assert len(cluster.pods_of(spec.handle)) == 1
    assert cluster.token(spec.handle) == spec.token
    assert cluster.count("POST", "jobs") == 2  # the second answered 409 AlreadyExists


def test_a_refused_secret_removes_the_half_made_job(cluster, backend):
    spec = make_spec()
    cluster.answer_next("POST", "secrets", 422, "Secret is invalid")
    with pytest.raises(BackendRefused, match="Secret is invalid"):
        backend.submit(spec)
    # The next attempt has another name: this Job would wait forever for its token.
    assert cluster.job(spec.handle) is None


def test_a_secret_lost_to_a_transient_error_is_stored_by_the_next_submit(cluster, backend):
    spec = make_spec()
    cluster.fail_next[("POST", "secrets")] = 1
    with pytest.raises(BackendUnavailable):
        backend.submit(spec)
    # The same attempt comes back (nothing was spent), so its Job stays to be adopted.
    uid = cluster.job(spec.handle)["metadata"]["uid"]

    backend.submit(spec)
    secret = cluster.secret(spec.handle)
    assert (
        secret["metadata"]["ownerReferences"][0]["uid"]
        == cluster.job(spec.handle)["metadata"]["uid"]
        == uid
    )


def test_a_job_adopted_without_its_secret_gets_the_secret_owned_by_the_existing_job(
    cluster, backend
):
    spec = make_spec()
    cluster.create("jobs", "petri", job_manifest(spec, JobOptions(RUNNER_IMAGE)))
    uid = cluster.job(spec.handle)["metadata"]["uid"]
    backend.submit(spec)
    assert cluster.secret(spec.handle)["metadata"]["ownerReferences"][0]["uid"] == uid


def test_a_refusal_by_the_api_is_a_backend_error_naming_the_reason(cluster, backend):
    cluster.fail_next[("POST", "jobs")] = 1
    with pytest.raises(BackendError, match="500"):
        backend.submit(make_spec())


def test_an_unreachable_api_is_a_backend_error(cluster):
    configuration = k8s.Configuration(host="http://127.0.0.1:9")
    configuration.retries = 0
    backend = KubernetesBackend(
        LimitedApiClient(configuration, TokenBucket(100, 100)),
        namespace="petri",
        options=JobOptions(runner_image=RUNNER_IMAGE),
    )
    with pytest.raises(BackendError, match="cannot reach the Kubernetes API"):
        backend.submit(make_spec())
    with pytest.raises(BackendError):
        backend.reconcile(["petri-7-1"])


def test_cancel_deletes_the_job_in_the_background_taking_pod_and_secret(cluster, backend):
    spec = make_spec()
    backend.submit(spec)
    cluster.run(spec.handle)

    backend.cancel(spec.handle)

    assert cluster.deletions == [(spec.handle, "Background")]
    assert cluster.job(spec.handle) is None
    assert cluster.pods_of(spec.handle) == []
    assert cluster.secret(spec.handle) is None


def test_cancel_is_idempotent(cluster, backend):
    spec = make_spec()
    backend.submit(spec)
    backend.cancel(spec.handle)
    backend.cancel(spec.handle)  # 404: already gone, nothing to do
    backend.cancel("petri-999-1")
    assert cluster.count("DELETE", "jobs") == 3
