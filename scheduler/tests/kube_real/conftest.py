"""The system tier on a real cluster (the kit in ../shared/kube): one Petri server and one
namespace for the whole session, so each test costs only its own jobs."""

from __future__ import annotations

import secrets

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from scheduler.tests.cluster_lock import holding
from scheduler.tests.kube_real.petri import KubePetri, kube_api, wait_for

EXCLUSIVE = "exclusive_cluster"


def pytest_collection_modifyitems(config, items):
    # The control-plane outage goes last: nothing after it meets a cluster still recovering.
    items.sort(key=lambda item: getattr(getattr(item, "function", None), EXCLUSIVE, False))


@pytest.fixture(autouse=True)
def kube_cluster_share(request):
    """Tests share the one cluster; the control-plane outage test holds it alone."""
    with holding("kube", request):
        yield
        if getattr(request.function, "exclusive_cluster", False):
            # The control plane it stopped must answer again before anyone else goes on.
            api = kube_api()
            try:
                wait_for(lambda: _answers(api), 180, "kube-apiserver to answer again", every=1)
            finally:
                api.close()


def _answers(api: k8s.ApiClient) -> bool:
    try:
        k8s.CoreV1Api(api).list_namespace(limit=1, _request_timeout=5)
    except Exception:
        return False
    return True


def _namespace(api: k8s.ApiClient, prefix: str) -> str:
    name = f"{prefix}-{secrets.token_hex(3)}"
    body = {"metadata": {"name": name, "labels": {"petri.dev/system-test": "true"}}}
    k8s.CoreV1Api(api).create_namespace(body)
    return name


def _drop_namespace(api: k8s.ApiClient, name: str) -> None:
    core = k8s.CoreV1Api(api)
    try:
        core.delete_namespace(name, propagation_policy="Background")
    except ApiException as exc:
        if exc.status != 404:
            raise

    def gone() -> bool:
        try:
            core.read_namespace(name)
        except ApiException as exc:
            return exc.status == 404
        return False

    wait_for(gone, 120, f"namespace {name} to be deleted", every=1)


@pytest.fixture(scope="session")
def kube():
    api = kube_api()
    yield api
    api.close()


@pytest.fixture(scope="session")
def petri(kube, tmp_path_factory):
    """A real `manage.py serve` on 10.244.0.1 whose runner Jobs run in their own namespace."""
    namespace = _namespace(kube, "petri-sys")
    server = KubePetri(tmp_path_factory.mktemp("petri-kube"), namespace)
    try:
        yield server.start()
    finally:
        server.stop()
        _drop_namespace(kube, namespace)


@pytest.fixture(scope="session")
def parked_petri(kube, tmp_path_factory):
    """A Petri whose runner pods no node accepts: Jobs and pods are made but nothing runs, so
    hundreds of jobs can be dispatched on a two-core machine."""
    namespace = _namespace(kube, "petri-park")
    server = KubePetri(
        tmp_path_factory.mktemp("petri-parked"),
        namespace,
        env={
            "PETRI_K8S_NODE_SELECTOR": "petri.dev/pool=parked",
            "PETRI_K8S_UNSCHEDULABLE_GRACE": "3600",
        },
    )
    try:
        yield server.start()
    finally:
        server.stop()
        _drop_namespace(kube, namespace)


@pytest.fixture
def batch(kube) -> k8s.BatchV1Api:
    return k8s.BatchV1Api(kube)


@pytest.fixture
def core(kube) -> k8s.CoreV1Api:
    return k8s.CoreV1Api(kube)
