"""Petri deployed on the kit as in production (docs/kubernetes.md, "The dev overlay on the
kit"): k8s/overlays/kit applied with kubectl, the web app and the scheduler as Deployments of
the petri-web image, the machine's Postgres, Redis and apiserver reached through relays."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from kubernetes import client as k8s

from scheduler.tests.kube_real.petri import HOST_IP, ROOT, PetriApi
from scheduler.tests.kube_real.relay import Relay

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


class Unavailable(Exception):
    """What the deployment needs is missing here; its tests skip, saying what."""


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
        raise Unavailable(f"the kit deployment uses this machine's {scheme[:-3]}: set {variable}")
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


class KitDeployment:
    """Applied at the start of the session (so its pods start beside the others); ``ready()``
    waits for it when its tests come."""

    def __init__(self, kube: k8s.ApiClient) -> None:
        self.core = k8s.CoreV1Api(kube)
        node = self.core.list_node().items[0]
        if not any(WEB_IMAGE in (i.names or []) for i in node.status.images or []):
            raise Unavailable("no petri-web image on the node: `.ci/kube.sh web-image` builds it")
        self.database, database_at = machine_url("DATABASE_URL", "postgres://")
        self.redis, redis_at = machine_url("REDIS_URL", "redis://")
        self.pods = PodAddresses(self.core)
        api = urlsplit(kube.configuration.host)
        api_at = (api.hostname or "127.0.0.1", api.port or 443)
        mine = self.pods.__contains__
        self.relays = [
            Relay((HOST_IP, DB_PORT), lambda: database_at, mine),
            Relay((HOST_IP, REDIS_PORT), lambda: redis_at, mine),
            Relay((HOST_IP, API_PORT), lambda: api_at, mine),
            Relay((HOST_IP, WEB_PORT), self.pods.web, lambda peer: True),
        ]
        self.manifests = render()
        self.applied = ""

    def start(self) -> KitDeployment:
        for relay in self.relays:
            relay.start()
        self.core.create_namespace({"metadata": {"name": APP}})
        secret = {"DATABASE_URL": self.database, "REDIS_URL": self.redis}
        self.core.create_namespaced_secret(
            APP, {"metadata": {"name": "petri-kit-database"}, "stringData": secret}
        )
        self.applied = kubectl("apply", "-f", "-", stdin=self.manifests)
        return self

    def ready(self) -> PetriApi:
        """Waits as docs/deployment.md does, then signs in through `kubectl exec`."""
        kubectl(
            "-n", APP, "wait", "--for=condition=complete", "job/petri-migrate", "--timeout=300s"
        )
        for deployment in ("deploy/petri-web", "deploy/petri-scheduler"):
            kubectl("-n", APP, "rollout", "status", deployment, "--timeout=240s")
        shell = ("python", "manage.py", "shell", "-c", MAKE_USER)
        token = kubectl("-n", APP, "exec", "deploy/petri-web", "--", *shell).split()[-1]
        return PetriApi(f"http://{HOST_IP}:{WEB_PORT}", token)

    def stop(self) -> None:
        for relay in self.relays:
            relay.stop()
        try:
            kubectl("delete", "--wait=false", "--ignore-not-found", "-f", "-", stdin=self.manifests)
        except AssertionError as exc:
            print(exc)
