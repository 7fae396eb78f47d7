"""GET /api/nodes/: the backend's nodes, for users picking where a job runs."""

from __future__ import annotations

import os
import socket

import pytest
import yaml
from rest_framework.test import APIClient

from scheduler.tests.kube.fake import FakeCluster
from webapp.api.nodes import forget_backends, web_backend


@pytest.fixture(autouse=True)
def fresh_backends():
    forget_backends()
    yield
    forget_backends()


@pytest.fixture
def kube_cluster(settings, tmp_path, monkeypatch):
    """PETRI_BACKEND=kubernetes, configured through a kubeconfig file for a fake cluster."""
    cluster = FakeCluster().start()
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "fake", "cluster": {"server": cluster.url}}],
                "users": [{"name": "tester", "user": {"token": "t0ken"}}],
                "contexts": [
                    {
                        "name": "fake",
                        "context": {"cluster": "fake", "user": "tester", "namespace": "petri"},
                    }
                ],
                "current-context": "fake",
            }
        )
    )
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    settings.PETRI_BACKEND = "kubernetes"
    settings.PETRI_K8S_NAMESPACE = ""  # taken from the kubeconfig context
    yield cluster
    cluster.stop()


def test_nodes_need_an_authenticated_user(db):
    # 401, not 403: the token scheme is announced, so a client knows how to authenticate.
    response = APIClient().get("/api/nodes/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_the_local_backend_reports_this_machine_as_one_node(api, settings):
    settings.PETRI_BACKEND = "local"
    response = api.get("/api/nodes/")
    assert response.status_code == 200
    (node,) = response.json()
    assert node["name"] == socket.gethostname()
    assert node["cpu_allocatable"] == os.cpu_count()
    assert node["memory_allocatable"] > 64 * 1024**2
    assert node["gpu_allocatable"] == 0
    assert node["cpu_free"] == node["cpu_allocatable"] - node["cpu_requested"]


def test_the_kubernetes_backend_reports_the_clusters_nodes_with_what_is_free(api, kube_cluster):
    kube_cluster.add_node("gpu-1", cpu="16", memory="64Gi", gpu=4, labels={"pool": "gpu"})
    kube_cluster.add_node("cpu-1", cpu="8", memory="32Gi")
    kube_cluster.add_running_pod(
        "train", "gpu-1", {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "1"}
    )

    response = api.get("/api/nodes/")

    assert response.status_code == 200
    nodes = {node["name"]: node for node in response.json()}
    assert set(nodes) == {"cpu-1", "gpu-1"}
    gpu = nodes["gpu-1"]
    assert (gpu["cpu_allocatable"], gpu["cpu_requested"], gpu["cpu_free"]) == (16, 4, 12)
    assert gpu["memory_free"] == 48 * 1024**3
    assert (gpu["gpu_allocatable"], gpu["gpu_requested"], gpu["gpu_free"]) == (4, 1, 3)
    assert gpu["labels"]["pool"] == "gpu"
    # The namespace came from the kubeconfig context, and the token was sent.
    assert any(path == "/api/v1/namespaces/petri/pods" for _, path, _ in kube_cluster.requests)


def test_the_web_process_creates_its_backend_once(api, kube_cluster):
    kube_cluster.add_node("n1")
    first = web_backend()
    api.get("/api/nodes/")
    api.get("/api/nodes/")
    assert web_backend() is first


def test_an_unreachable_cluster_is_a_503_naming_the_problem(api, kube_cluster):
    kube_cluster.stop()
    web_backend().api_client.configuration.retries = 0
    response = api.get("/api/nodes/")
    assert response.status_code == 503
    assert "kubernetes backend cannot list its nodes" in response.json()["detail"]


def test_no_kubernetes_configuration_is_a_503(api, settings, monkeypatch, tmp_path):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    settings.PETRI_BACKEND = "kubernetes"
    response = api.get("/api/nodes/")
    assert response.status_code == 503
    assert "no Kubernetes configuration" in response.json()["detail"]
