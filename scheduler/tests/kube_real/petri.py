"""A real Petri (`manage.py serve`, PETRI_BACKEND=kubernetes) against the kit's real cluster."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from petri_pytest.isolation import free_port

ROOT = Path(__file__).resolve().parents[3]


def kit_dir() -> Path:
    """The kit (PETRI_KUBE_KIT, as .ci/kube.sh exports it; else ../shared/kube)."""
    if os.environ.get("PETRI_KUBE_KIT"):
        return Path(os.environ["PETRI_KUBE_KIT"])
    for candidate in (ROOT.parent / "shared" / "kube", ROOT.parent.parent / "shared" / "kube"):
        if (candidate / "restart.sh").exists():
            return candidate
    raise AssertionError("no kube kit: set PETRI_KUBE_KIT")


def kube_state() -> Path:
    """The running cluster's state folder (PETRI_KUBE_STATE; else KUBECONFIG's folder)."""
    return Path(os.environ.get("PETRI_KUBE_STATE") or Path(os.environ["KUBECONFIG"]).parent)


# Where pods reach this machine: the kit's bridge address (its README, "Network").
HOST_IP = "10.244.0.1"
RUNNER_IMAGE = "localhost/petri-runner:0.1.0"
FINAL = ("succeeded", "failed", "cancelled")

# One process migrates, syncs the catalog and signs in (each start of Django costs seconds on a
# busy machine); every server copies that database. The Installation row goes, so each server
# draws its own id.
PREPARE = """
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
call_command("sync_algorithms")
from django.contrib.auth import get_user_model
from jobs.models import Installation
from webapp.accounts.tokens import issue_token
user, _ = get_user_model().objects.get_or_create(
    username="kube", defaults={"is_staff": True, "is_superuser": True}
)
Installation.objects.all().delete()
print(issue_token(user, "kube-system-tests")[1])
"""


def wait_for(condition: Callable[[], Any], timeout: float, what: str, every: float = 0.25) -> Any:
    """Poll ``condition`` until it is truthy; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        pause.wait(every)


def kube_api() -> k8s.ApiClient:
    return k8s_config.new_client_from_config(config_file=os.environ["KUBECONFIG"])


class PetriApi:
    """A signed-in session on a Petri's API."""

    def __init__(self, url: str, token: str = "") -> None:
        self.url = url
        self.http = requests.Session()
        if token:
            self.http.headers["Authorization"] = f"Token {token}"

    def log(self) -> str:
        return ""

    def get(self, path: str, **params: Any) -> Any:
        answer = self.http.get(f"{self.url}{path}", params=params, timeout=30)
        assert answer.ok, f"GET {path}: {answer.status_code} {answer.text[:500]}"
        return answer.json()

    def post(self, path: str, body: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        answer = self.http.post(f"{self.url}{path}", json=body, timeout=60, **kwargs)
        assert answer.ok, f"POST {path}: {answer.status_code} {answer.text[:500]}"
        return answer.json()

    def submit(self, **body: Any) -> int:
        body.setdefault("resources", {"cpu": 0.1, "memory": "128Mi"})
        return self.post("/api/experiments/", body)["id"]

    def upload_code(self, name: str, data: bytes) -> int:
        answer = self.http.post(
            f"{self.url}/api/artifacts/", files={"file": (name, data)}, timeout=60
        )
        assert answer.ok, f"upload: {answer.status_code} {answer.text[:500]}"
        return answer.json()["id"]

    def jobs(self, experiment: int) -> list[dict[str, Any]]:
        jobs: list[dict[str, Any]] = []
        page: str | None = f"{self.url}/api/jobs/?experiment={experiment}&page_size=500"
        while page:
            answer = self.http.get(page, timeout=30)
            assert answer.ok, answer.text[:500]
            body = answer.json()
            jobs += body["results"]
            page = body.get("next")
        return jobs

    def wait_final(self, experiment: int, timeout: float = 180) -> list[dict[str, Any]]:
        def final() -> list[dict[str, Any]] | None:
            jobs = self.jobs(experiment)
            return jobs if jobs and all(j["status"] in FINAL for j in jobs) else None

        try:
            return wait_for(final, timeout, f"experiment {experiment} to finish", every=0.5)
        except AssertionError:
            print(self.log()[-5000:])
            raise

    def log_lines(self, job: int) -> list[str]:
        return self.get(f"/api/jobs/{job}/log/")["lines"]


class KubePetri(PetriApi):
    """One Petri server whose runner Jobs go to ``namespace``, and a signed-in API session."""

    def __init__(
        self,
        workdir: Path,
        namespace: str,
        env: dict[str, str] | None = None,
        template: KubePetri | None = None,
    ) -> None:
        self.workdir = workdir
        self.namespace = namespace
        self.port = free_port(HOST_IP)
        super().__init__(f"http://{HOST_IP}:{self.port}")
        self.template = template
        var = workdir / "var"
        if template is not None:  # migrated, algorithms synced, a user and token made: copy
            shutil.copytree(template.workdir / "var", var)
        var.mkdir(parents=True, exist_ok=True)
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("PETRI_") and key not in ("DATABASE_URL", "REDIS_URL")
        }
        self.env.update(
            {
                "KUBECONFIG": os.environ["KUBECONFIG"],
                "DATABASE_URL": f"sqlite:///{var}/petri.sqlite3",
                "PETRI_VAR_DIR": str(var),
                "PETRI_SECRET_KEY": secrets.token_urlsafe(40),
                "PETRI_BACKEND": "kubernetes",
                "PETRI_K8S_NAMESPACE": namespace,
                "PETRI_RUNNER_IMAGE": RUNNER_IMAGE,
                "PETRI_API_URL": self.url,
                "PETRI_ALLOWED_HOSTS": f"{HOST_IP},127.0.0.1,localhost",
                "PETRI_POLL_INTERVAL": "0.2",
                "PETRI_RECONCILE_INTERVAL": "1",
                "PETRI_K8S_JOB_TTL": "600",
                **(env or {}),
            }
        )
        self.process: subprocess.Popen | None = None
        self.token = ""
        self.log_path = workdir / "serve.log"

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"manage.py {args[0]} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def prepare(self) -> KubePetri:
        """Migrate, sync the catalog and sign in: what every server copies from one template."""
        self.token = self.manage("shell", "-c", PREPARE).strip().splitlines()[-1]
        return self

    def start(self) -> KubePetri:
        if self.template is None:
            self.prepare()
        else:
            self.token = self.template.token
        self.http.headers["Authorization"] = f"Token {self.token}"
        with self.log_path.open("wb") as out:
            command = [sys.executable, str(ROOT / "manage.py"), "serve"]
            self.process = subprocess.Popen(
                [*command, "--host", HOST_IP, "--port", str(self.port)],
                env=self.env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_for(self._healthy, 90, f"serve to answer on {self.url}")
        return self

    def _healthy(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"serve exited:\n{self.log()}")
        try:
            return requests.get(f"{self.url}/healthz", timeout=2).ok
        except requests.RequestException:
            return False

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
