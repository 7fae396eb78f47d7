"""Petri deployed on the kit as in production: k8s/overlays/kit (the dev overlay and what a
1.20 one-node cluster without kube-proxy, DNS or storage needs) applied with kubectl, the web
app and the scheduler running as Deployments of the petri-web image, a sweep run to results."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from kubernetes import client as k8s

from scheduler.tests.kube_real.petri import HOST_IP, ROOT, PetriApi
from scheduler.tests.kube_real.relay import Relay

# One worker runs every real-cluster test, one after another (conftest: the outage goes last).
pytestmark = [pytest.mark.requires("kube"), pytest.mark.xdist_group("kube-cluster")]

APP, RUNNERS = "petri-dev", "petri-dev-runners"  # the dev overlay's namespaces
WEB_IMAGE = "docker.io/library/petri-web:0.1.0"
# The relays' ports on 10.244.0.1, as k8s/overlays/kit names them.
DB_PORT, REDIS_PORT, API_PORT, WEB_PORT = 15432, 16379, 17443, 18800
MAKE_USER = (
    "from django.contrib.auth import get_user_model; "
    "from webapp.accounts.tokens import issue_token; "
    "u, _ = get_user_model().objects.get_or_create(username='kit', "
    "defaults={'is_staff': True, 'is_superuser': True}); "
    "print(issue_token(u, 'kit-deployment-test')[1])"
)


def kubectl(*args: str, stdin: str | None = None) -> str:
    """The kit's own kubectl (1.20, as the cluster), else the one in .venv."""
    home = Path(os.environ.get("K8SREAL_HOME", Path.home() / ".cache" / "k8sreal"))
    binary = home / "out" / "bin" / "kubectl"
    if not binary.exists():
        binary = Path(sys.executable).parent / "kubectl"
    done = subprocess.run(
        [str(binary), *args], input=stdin, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"kubectl {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def render() -> str:
    # kubectl 1.20's kustomize is too old for the overlays; the .venv's (1.37) renders them.
    done = subprocess.run(
        [str(Path(sys.executable).parent / "kubectl"), "kustomize", str(ROOT / "k8s/overlays/kit")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def machine_url(variable: str, scheme: str) -> tuple[str, tuple[str, int]]:
    """The machine's service as pods reach it through its relay, and where the relay goes."""
    url = os.environ.get(variable, "")
    if not url.startswith(scheme):
        pytest.skip(f"the kit deployment uses this machine's {scheme[:-3]}: set {variable}")
    parts = urlsplit(url)
    relayed = DB_PORT if scheme == "postgres://" else REDIS_PORT
    netloc = parts.netloc.rsplit("@", 1)
    userinfo = f"{netloc[0]}@" if len(netloc) == 2 else ""
    pod_url = urlunsplit(parts._replace(netloc=f"{userinfo}{HOST_IP}:{relayed}"))
    return pod_url, (parts.hostname or "127.0.0.1", parts.port or 0)


class PodAddresses:
    """The IPs of the app namespace's pods (web, scheduler, migrate), read at most every 2 s."""

    def __init__(self, core: k8s.CoreV1Api) -> None:
        self.core = core
        self.read_at = 0.0
        self.ips: set[str] = set()

    def __contains__(self, ip: str) -> bool:
        if ip not in self.ips and time.monotonic() - self.read_at > 2:
            pods = self.core.list_namespaced_pod(APP).items
            self.ips = {p.status.pod_ip for p in pods if p.status.pod_ip}
            self.read_at = time.monotonic()
        return ip in self.ips

    def web(self) -> tuple[str, int] | None:
        pods = self.core.list_namespaced_pod(
            APP, label_selector="app.kubernetes.io/component=web"
        ).items
        ready = [
            p.status.pod_ip
            for p in pods
            if p.status.pod_ip
            and any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])
        ]
        return (ready[0], 8000) if ready else None


@pytest.fixture(scope="module")
def deployed(kube):
    core = k8s.CoreV1Api(kube)
    node = core.list_node().items[0]
    if not any(WEB_IMAGE in (i.names or []) for i in node.status.images or []):
        pytest.skip("no petri-web image on the node: `.ci/kube.sh web-image` builds it")
    database, database_at = machine_url("DATABASE_URL", "postgres://")
    redis, redis_at = machine_url("REDIS_URL", "redis://")
    app_pods = PodAddresses(core)
    api_at = urlsplit(kube.configuration.host)
    relays = [
        Relay((HOST_IP, DB_PORT), lambda: database_at, app_pods.__contains__),
        Relay((HOST_IP, REDIS_PORT), lambda: redis_at, app_pods.__contains__),
        Relay((HOST_IP, API_PORT), lambda: (api_at.hostname, api_at.port), app_pods.__contains__),
        Relay((HOST_IP, WEB_PORT), app_pods.web, lambda peer: True),
    ]
    manifests = render()
    try:
        for relay in relays:
            relay.start()
        core.create_namespace({"metadata": {"name": APP}})
        core.create_namespaced_secret(
            APP,
            {
                "metadata": {"name": "petri-kit-database"},
                "stringData": {"DATABASE_URL": database, "REDIS_URL": redis},
            },
        )
        applied = kubectl("apply", "-f", "-", stdin=manifests)
        kubectl(
            "-n", APP, "wait", "--for=condition=complete", "job/petri-migrate", "--timeout=300s"
        )
        kubectl("-n", APP, "rollout", "status", "deploy/petri-web", "--timeout=240s")
        kubectl("-n", APP, "rollout", "status", "deploy/petri-scheduler", "--timeout=240s")
        token = kubectl(
            "-n",
            APP,
            "exec",
            "deploy/petri-web",
            "--",
            "python",
            "manage.py",
            "shell",
            "-c",
            MAKE_USER,
        ).split()[-1]
        yield PetriApi(f"http://{HOST_IP}:{WEB_PORT}", token), applied, relays
    finally:
        for relay in relays:
            relay.stop()
        try:
            kubectl("delete", "--wait=false", "--ignore-not-found", "-f", "-", stdin=manifests)
        except AssertionError as exc:
            print(exc)


def test_the_kit_overlay_applies_with_a_v1beta1_disruption_budget(deployed):
    _, applied, _ = deployed

    assert "poddisruptionbudget.policy/petri-web created" in applied, applied
    # 1.20 serves policy/v1beta1 only; the dev and prod overlays keep policy/v1.
    budget = kubectl("-n", APP, "get", "pdb", "petri-web", "-o", "jsonpath={.apiVersion}")
    assert budget == "policy/v1beta1"


def test_web_and_scheduler_deployments_run_a_sweep_to_results(deployed, kube):
    petri, _, _ = deployed
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
