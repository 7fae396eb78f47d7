"""The system tier on a real cluster (the kit in ../shared/kube): one Petri server and one
namespace for the whole session, and every experiment of the tier submitted at its start
(workloads.py) so the pods run side by side while the tests wait in turn."""

from __future__ import annotations

import secrets

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from scheduler.backends.kubernetes import JobOptions
from scheduler.backends.kubernetes.manifests import job_manifest
from scheduler.tests.cluster_lock import EXCLUSIVE, holding
from scheduler.tests.kube_real import workloads
from scheduler.tests.kube_real.kit_deployment import KitDeployment, Unavailable
from scheduler.tests.kube_real.petri import RUNNER_IMAGE, KubePetri, kube_api, wait_for


@pytest.fixture(autouse=True)
def kube_cluster_share(request):
    """Tests share the one cluster; the control-plane outage test holds it alone."""
    with holding("kube", request):
        yield
        if getattr(request.function, EXCLUSIVE, False):
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


def _drop_namespace(api: k8s.ApiClient, name: str, wait: bool = False) -> None:
    """Delete a namespace; wait for it to go only when the same name is used again."""
    core = k8s.CoreV1Api(api)
    try:
        core.delete_namespace(name, propagation_policy="Background")
    except ApiException as exc:
        if exc.status != 404:
            raise
    if not wait:
        return  # names are random: nothing meets it while the cluster finishes the deletion

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
def petri_template(tmp_path_factory) -> KubePetri:
    """A migrated database with the catalog and a signed-in user, made once; servers copy it."""
    return KubePetri(tmp_path_factory.mktemp("petri-template"), "unused").prepare()


@pytest.fixture(scope="session")
def petri(kube, petri_template, tmp_path_factory):
    """A real `manage.py serve` on 10.244.0.1 whose runner Jobs run in their own namespace."""
    namespace = _namespace(kube, "petri-sys")
    server = KubePetri(tmp_path_factory.mktemp("petri-kube"), namespace, template=petri_template)
    try:
        yield server.start()
    finally:
        server.stop()
        _drop_namespace(kube, namespace)


@pytest.fixture(scope="session", autouse=True)
def experiments(stuck, kit_deployment, petri) -> dict[str, int]:
    """Everything that takes the cluster's time starts before the first test, in this order:
    the backend's stuck Job, the kit deployment, and every experiment the tests look at. Their
    pods run side by side while the tests take their turns."""
    return workloads.submit_all(petri)


@pytest.fixture(scope="session")
def backend_namespace(kube):
    name = _namespace(kube, "petri-be")
    yield name
    _drop_namespace(kube, name)


@pytest.fixture(scope="session")
def stuck(backend_namespace, kube):
    """A Job whose token Secret never comes: its pod sits in CreateContainerConfigError, and
    its start grace runs out while other tests run (test_real_backend.py)."""
    attempt = workloads.spec(103)
    options = JobOptions(runner_image=RUNNER_IMAGE, ttl_seconds=300)
    k8s.BatchV1Api(kube).create_namespaced_job(backend_namespace, job_manifest(attempt, options))
    return attempt


@pytest.fixture(scope="session")
def kit_deployment(kube):
    """k8s/overlays/kit applied (test_real_deployment.py); or why it cannot be, here."""
    try:
        deployment = KitDeployment(kube)
    except Unavailable as exc:
        yield str(exc)
        return
    try:
        yield deployment.start()
    finally:
        deployment.stop()


@pytest.fixture(scope="session")
def parked_petri(kube, petri_template, tmp_path_factory):
    """A Petri whose runner pods no node accepts: Jobs and pods are made but nothing runs, so
    hundreds of jobs can be dispatched on a two-core machine."""
    namespace = _namespace(kube, "petri-park")
    server = KubePetri(
        tmp_path_factory.mktemp("petri-parked"),
        namespace,
        env={
            "PETRI_K8S_NODE_SELECTOR": "petri.dev/pool=parked",
            "PETRI_K8S_UNSCHEDULABLE_GRACE": "3600",
            # Twice the default rate: 200 Jobs made and deleted sooner, yet still ~8 s of
            # dispatch for the outage to land in.
            "PETRI_K8S_QPS": "40",
            "PETRI_K8S_BURST": "40",
        },
        template=petri_template,
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
