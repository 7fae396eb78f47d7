"""The PETRI_K8S_* settings: parsed loudly, and shaping the backend create_backend makes."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from scheduler.backends import create_backend
from scheduler.backends.kubernetes import KubernetesBackend
from scheduler.backends.kubernetes.manifests import job_manifest
from scheduler.tests.kube.helpers import make_spec
from webapp.env import env_json_objects, env_label_pairs


def test_label_pairs_are_parsed(monkeypatch):
    monkeypatch.setenv("PETRI_K8S_NODE_SELECTOR", "pool=batch, example.com/disk=ssd")
    assert env_label_pairs("PETRI_K8S_NODE_SELECTOR") == {
        "pool": "batch",
        "example.com/disk": "ssd",
    }


@pytest.mark.parametrize("raw", ["pool", "pool=has space", "=x", "a=" + "x" * 64, "a b=c"])
def test_malformed_label_pairs_stop_petri_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("PETRI_K8S_EXTRA_LABELS", raw)
    with pytest.raises(ImproperlyConfigured, match="PETRI_K8S_EXTRA_LABELS"):
        env_label_pairs("PETRI_K8S_EXTRA_LABELS")


def test_tolerations_are_a_json_list(monkeypatch):
    monkeypatch.setenv("PETRI_K8S_TOLERATIONS", '[{"key": "gpu", "operator": "Exists"}]')
    assert env_json_objects("PETRI_K8S_TOLERATIONS") == [{"key": "gpu", "operator": "Exists"}]
    monkeypatch.delenv("PETRI_K8S_TOLERATIONS")
    assert env_json_objects("PETRI_K8S_TOLERATIONS") == []


@pytest.mark.parametrize("raw", ["gpu:NoSchedule", '{"key": "gpu"}', "[1, 2]"])
def test_tolerations_that_are_not_a_json_list_of_objects_stop_petri(monkeypatch, raw):
    monkeypatch.setenv("PETRI_K8S_TOLERATIONS", raw)
    with pytest.raises(ImproperlyConfigured, match="PETRI_K8S_TOLERATIONS"):
        env_json_objects("PETRI_K8S_TOLERATIONS")


def test_create_backend_builds_the_kubernetes_backend_from_settings(
    settings, cluster, tmp_path, monkeypatch
):
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(
        f"""
apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "{cluster.url}"}}}}]
users: [{{name: u, user: {{token: abc}}}}]
contexts: [{{name: x, context: {{cluster: c, user: u}}}}]
current-context: x
"""
    )
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    settings.PETRI_K8S_NAMESPACE = "research"
    settings.PETRI_RUNNER_IMAGE = "lab/runner:2"
    settings.PETRI_K8S_IMAGE_PULL_SECRETS = ["creds"]
    settings.PETRI_K8S_NODE_SELECTOR = {"pool": "batch"}
    settings.PETRI_K8S_EXTRA_LABELS = {"team": "causal"}
    settings.PETRI_K8S_QPS, settings.PETRI_K8S_BURST = 5.0, 7
    settings.PETRI_K8S_JOB_TTL = 900

    backend = create_backend("kubernetes")
    try:
        assert isinstance(backend, KubernetesBackend)
        assert backend.namespace == "research"
        assert (backend.api_client.limiter.qps, backend.api_client.limiter.burst) == (5.0, 7)
        job = job_manifest(make_spec(), backend.options)
        pod = job["spec"]["template"]["spec"]
        assert pod["containers"][0]["image"] == "lab/runner:2"
        assert pod["imagePullSecrets"] == [{"name": "creds"}]
        assert pod["nodeSelector"] == {"pool": "batch"}
        assert job["metadata"]["labels"]["team"] == "causal"
        assert job["spec"]["ttlSecondsAfterFinished"] == 900
        backend.submit(make_spec())
        assert cluster.job("petri-7-1", namespace="research") is not None
    finally:
        backend.shutdown()
