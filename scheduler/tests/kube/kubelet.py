"""A fake kubelet: runs the pods of the fake cluster as real ``petri_runner`` processes.

It reads each pod's environment the way a kubelet does (values, and the token from the Secret
the pod names), starts the runner on this machine, and reports the pod Running, then Succeeded or
Failed with the runner's exit status and its output as the pod log.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from scheduler.tests.kube.fake import FakeCluster


class FakeKubelet:
    def __init__(self, cluster: FakeCluster, runner_dir: Path, algorithms_dir: Path, logs: Path):
        self.cluster = cluster
        self.runner_dir = runner_dir
        self.algorithms_dir = algorithms_dir
        self.logs = logs
        self.procs: dict[str, tuple[subprocess.Popen, str, str]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="fake-kubelet", daemon=True)

    def start(self) -> FakeKubelet:
        self.logs.mkdir(parents=True, exist_ok=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        for proc, _, _ in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._sync()
            self._stop.wait(0.05)

    def _env(self, pod: dict[str, Any], namespace: str) -> dict[str, str] | None:
        env = {}
        for var in pod["spec"]["containers"][0].get("env", []):
            if "value" in var:
                env[var["name"]] = var["value"]
                continue
            ref = var["valueFrom"]["secretKeyRef"]
            secret = self.cluster.objects["secrets"].get((namespace, ref["name"]))
            if secret is None:
                return None
            env[var["name"]] = base64.b64decode(secret["data"][ref["key"]]).decode()
        return env

    def _sync(self) -> None:
        cluster = self.cluster
        with cluster.lock:
            pods = dict(cluster.objects["pods"])
        for (namespace, name), pod in pods.items():
            job = pod["metadata"]["labels"].get("job-name")
            if not job or pod["status"]["phase"] != "Pending" or name in self.procs:
                continue
            with cluster.lock:
                env = self._env(pod, namespace)
            if env is None:
                cluster.waiting(job, "CreateContainerConfigError", "secret not found", namespace)
                continue
            self.procs[name] = (self._start(name, env), job, namespace)
            cluster.run(job, namespace)
        for name, (proc, job, namespace) in list(self.procs.items()):
            if (namespace, name) not in pods:
                # The pod was deleted (the Job was cancelled): stop its container.
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait()
                del self.procs[name]
                continue
            if not job or proc.poll() is None:
                continue
            self.procs[name] = (proc, "", namespace)  # finished: reported once, never restarted
            with cluster.lock:
                cluster.logs[name] = (self.logs / f"{name}.log").read_text(errors="replace")
                if proc.returncode == 0:
                    cluster.succeed(job, namespace)
                else:
                    cluster.fail(job, proc.returncode, namespace=namespace)

    def _start(self, name: str, pod_env: dict[str, str]) -> subprocess.Popen:
        env = {
            **os.environ,
            **pod_env,
            # The image's /opt/petri/algorithms is this checkout's catalog here.
            "PETRI_ALGORITHMS_DIR": str(self.algorithms_dir),
            "PYTHONPATH": str(self.runner_dir),
            "HOME": os.environ.get("HOME", "/tmp"),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        with (self.logs / f"{name}.log").open("wb") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "petri_runner"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
