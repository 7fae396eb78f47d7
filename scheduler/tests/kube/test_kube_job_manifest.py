"""The Job and Secret the Kubernetes backend builds for one attempt."""

from __future__ import annotations

import copy

import jsonschema
import kubernetes_validate
import pytest

from scheduler.backends.base import BackendError
from scheduler.backends.kubernetes.manifests import (
    JobOptions,
    cpu_quantity,
    job_manifest,
    label_value,
    secret_manifest,
)
from scheduler.tests.kube import schema
from scheduler.tests.kube.helpers import RUNNER_IMAGE, make_spec

OPTIONS = JobOptions(runner_image=RUNNER_IMAGE)


def container_of(job: dict) -> dict:
    (container,) = job["spec"]["template"]["spec"]["containers"]
    return container


def test_the_job_is_named_by_the_handle_and_labelled_for_petri():
    job = job_manifest(make_spec(job_id=41, attempt=2, experiment_id=9, owner="alice"), OPTIONS)
    assert job["metadata"]["name"] == "petri-41-2"
    for labels in (job["metadata"]["labels"], job["spec"]["template"]["metadata"]["labels"]):
        assert labels["app.kubernetes.io/managed-by"] == "petri"
        assert labels["petri.dev/job"] == "41"
        assert labels["petri.dev/experiment"] == "9"
        assert labels["petri.dev/user"] == "alice"
        assert labels["petri.dev/handle"] == "petri-41-2"


def test_petri_owns_retries_and_the_pod_never_restarts():
    job = job_manifest(make_spec(), OPTIONS)
    assert job["spec"]["backoffLimit"] == 0
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert job["spec"]["ttlSecondsAfterFinished"] == 3600


def test_the_deadline_follows_the_experiment_timeout_with_a_grace_for_the_runner():
    assert job_manifest(make_spec(timeout=600), OPTIONS)["spec"]["activeDeadlineSeconds"] > 600
    # Without a timeout the installation's default deadline applies: nothing runs forever.
    untimed = job_manifest(make_spec(timeout=None), OPTIONS)["spec"]
    assert untimed["activeDeadlineSeconds"] == OPTIONS.default_deadline


def test_resources_become_requests_and_limits_with_gpus_as_a_limit():
    job = job_manifest(make_spec(resources={"cpu": 0.5, "memory": "2Gi", "gpu": 2}), OPTIONS)
    resources = container_of(job)["resources"]
    assert resources["requests"] == {"cpu": "500m", "memory": "2Gi"}
    assert resources["limits"] == {
        "cpu": "500m",
        "memory": "2Gi",
        "nvidia.com/gpu": "2",
        "ephemeral-storage": OPTIONS.tmp_size,
    }
    no_gpu = job_manifest(make_spec(resources={"cpu": 2, "memory": "1Gi", "gpu": 0}), OPTIONS)
    assert "nvidia.com/gpu" not in container_of(no_gpu)["resources"]["limits"]


@pytest.mark.parametrize(
    ("cores", "quantity"), [(1, "1"), (2.0, "2"), (0.25, "250m"), (1.5, "1500m")]
)
def test_cpu_quantities_are_whole_cores_or_millicores(cores, quantity):
    assert cpu_quantity(cores) == quantity


def test_a_picked_node_selects_it_by_hostname_next_to_the_configured_selector():
    options = JobOptions(runner_image=RUNNER_IMAGE, node_selector={"pool": "batch"})
    job = job_manifest(make_spec(resources={"cpu": 1, "node": "gpu-node-3"}), options)
    assert job["spec"]["template"]["spec"]["nodeSelector"] == {
        "pool": "batch",
        "kubernetes.io/hostname": "gpu-node-3",
    }


def test_the_token_comes_from_the_attempts_secret_never_from_the_manifest():
    spec = make_spec()
    job = job_manifest(spec, OPTIONS)
    env = {var["name"]: var for var in container_of(job)["env"]}
    assert env["PETRI_JOB_TOKEN"]["valueFrom"]["secretKeyRef"] == {
        "name": spec.handle,
        "key": "token",
    }
    assert env["PETRI_API_URL"]["value"] == "http://petri-web:8000"
    assert spec.token not in str(job)


def test_the_pod_runs_unprivileged_without_a_service_account_token():
    job = job_manifest(make_spec(), OPTIONS)
    pod = job["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    security = container_of(job)["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}


def test_the_algorithms_own_image_wins_over_the_runner_image():
    assert container_of(job_manifest(make_spec(), OPTIONS))["image"] == RUNNER_IMAGE
    own = job_manifest(make_spec(image="lab/r-algos:4.4"), OPTIONS)
    assert container_of(own)["image"] == "lab/r-algos:4.4"


def test_installation_options_reach_the_pod_but_never_override_petris_labels():
    options = JobOptions(
        runner_image=RUNNER_IMAGE,
        image_pull_secrets=("registry-creds",),
        tolerations=({"key": "gpu", "operator": "Exists", "effect": "NoSchedule"},),
        extra_labels={"team": "causal", "app.kubernetes.io/managed-by": "someone-else"},
    )
    job = job_manifest(make_spec(), options)
    pod = job["spec"]["template"]["spec"]
    assert pod["imagePullSecrets"] == [{"name": "registry-creds"}]
    assert pod["tolerations"] == [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert job["metadata"]["labels"]["team"] == "causal"
    assert job["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "petri"


def test_user_names_that_are_not_label_values_are_cleaned_and_kept_in_an_annotation():
    job = job_manifest(make_spec(owner="ann.o'neil+lab@example.org"), OPTIONS)
    assert job["metadata"]["labels"]["petri.dev/user"] == "ann.o-neil-lab-example.org"
    assert job["metadata"]["annotations"]["petri.dev/username"] == "ann.o'neil+lab@example.org"
    assert label_value("-" * 5 + "x" * 100) == "x" * 58


def test_a_handle_that_cannot_name_a_job_is_refused():
    with pytest.raises(BackendError):
        job_manifest(make_spec(handle="petri-" + "9" * 60), OPTIONS)


def test_the_secret_is_owned_by_its_job():
    spec = make_spec()
    secret = secret_manifest(spec, "uid-123", {})
    (owner,) = secret["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"]) == ("Job", spec.handle, "uid-123")
    assert secret["stringData"] == {"token": spec.token}


@pytest.mark.parametrize(
    "spec",
    [
        make_spec(),
        make_spec(resources={"cpu": 0.5, "memory": "512Mi", "gpu": 1, "node": "n1"}),
        make_spec(timeout=None, owner="", experiment_id=None),
    ],
)
def test_every_manifest_is_valid_kubernetes_1_33(spec):
    options = JobOptions(
        runner_image=RUNNER_IMAGE,
        image_pull_secrets=("creds",),
        node_selector={"pool": "batch"},
        tolerations=({"key": "gpu", "operator": "Exists", "effect": "NoSchedule"},),
        extra_labels={"team": "causal"},
    )
    kubernetes_validate.validate(job_manifest(spec, options), "1.33", strict=True)
    kubernetes_validate.validate(secret_manifest(spec, "uid", {"team": "x"}), "1.33", strict=True)


def test_the_fake_clusters_schema_check_agrees_with_kubernetes_validate():
    job = job_manifest(make_spec(), OPTIONS)
    unknown_field = copy.deepcopy(job)
    container_of(unknown_field)["imagePolicy"] = "always"
    wrong_type = copy.deepcopy(job)
    wrong_type["spec"]["backoffLimit"] = "none"
    secret = secret_manifest(make_spec(), "uid", {})
    for obj, valid in [(job, True), (secret, True), (unknown_field, False), (wrong_type, False)]:
        try:
            kubernetes_validate.validate(obj, "1.33", strict=True)
            library = True
        except jsonschema.ValidationError:
            library = False
        try:
            schema.validate(obj)
            ours = True
        except jsonschema.ValidationError:
            ours = False
        assert library == ours == valid, obj
