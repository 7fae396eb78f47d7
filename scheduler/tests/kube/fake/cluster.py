"""An in-process fake Kubernetes API server that the real ``kubernetes`` client talks to.

It keeps Jobs, Pods (with logs), Secrets and Nodes in memory and answers create, get, list
(label and field selectors, paging), delete (with garbage collection of owned objects), 404 and
409 like the real API server. It plays the Job controller too: a new Job gets a Pending pod.
Tests move pods and Jobs through their lives with the ``FakeCluster`` methods. Every object
created through it is validated against the Kubernetes 1.33 schema, strictly.
"""

from __future__ import annotations

import base64
import copy
import itertools
import threading
import uuid
from collections import Counter
from http.server import ThreadingHTTPServer
from typing import Any

from scheduler.tests.kube import schema
from scheduler.tests.kube.fake.lives import PodLives, condition, now_iso
from scheduler.tests.kube.fake.server import KINDS, Handler, resource_of, status_body


class FakeCluster(PodLives):
    """The state of the fake API server, and the levers tests pull on it."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.objects: dict[str, dict[tuple[str, str], dict[str, Any]]] = {k: {} for k in KINDS}
        self.logs: dict[str, str] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.invalid: list[str] = []
        self.created: list[dict[str, Any]] = []
        self.deletions: list[tuple[str, str]] = []
        self.fail_next: dict[tuple[str, str], int] = {}
        # Scripted answers: (method, resource) -> [(status, message, headers)], used in order.
        self.answers: dict[tuple[str, str], list[tuple[int, str, dict[str, str]]]] = {}
        # Creates of these resources that succeed but whose answer is lost.
        self.lose_next: dict[str, int] = {}
        self.auto_pods = True
        self._versions = itertools.count(1)
        self._pod_suffix = itertools.count(10000)
        self.server: ThreadingHTTPServer | None = None
        self.url = ""

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeCluster:
        cluster = self

        class ClusterHandler(Handler):
            fake = cluster

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), ClusterHandler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(
            target=self.server.serve_forever, args=(0.02,), name="fake-kube", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def answer_next(
        self,
        method: str,
        resource: str,
        code: int,
        message: str = "injected",
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` such requests with this status instead of serving them."""
        self.answers.setdefault((method, resource), []).extend(
            [(code, message, dict(headers or {}))] * times
        )

    # -- what the tests read ---------------------------------------------------------------

    def count(self, method: str | None = None, resource: str | None = None) -> int:
        return sum(
            1
            for m, path, _ in self.requests
            if (method is None or m == method)
            and (resource is None or resource_of(path) == resource)
        )

    def calls(self) -> Counter[tuple[str, str]]:
        return Counter((m, resource_of(path)) for m, path, _ in self.requests)

    def job(self, name: str, namespace: str = "petri") -> dict[str, Any] | None:
        with self.lock:
            return copy.deepcopy(self.objects["jobs"].get((namespace, name)))

    def secret(self, name: str, namespace: str = "petri") -> dict[str, Any] | None:
        with self.lock:
            return copy.deepcopy(self.objects["secrets"].get((namespace, name)))

    def token(self, name: str, namespace: str = "petri") -> str:
        secret = self.secret(name, namespace)
        assert secret is not None, f"no Secret {name}"
        return base64.b64decode(secret["data"]["token"]).decode()

    def pods_of(self, job: str, namespace: str = "petri") -> list[dict[str, Any]]:
        with self.lock:
            return [
                copy.deepcopy(p)
                for (ns, _), p in self.objects["pods"].items()
                if ns == namespace and p["metadata"]["labels"].get("job-name") == job
            ]

    def pod_of(self, job: str, namespace: str = "petri") -> dict[str, Any]:
        pods = self.pods_of(job, namespace)
        assert len(pods) == 1, f"{job} has {len(pods)} pods"
        return pods[0]

    # -- storing ---------------------------------------------------------------------------

    def _stamp(self, kind: str, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        obj = copy.deepcopy(body)
        api_version, kind_name = KINDS[kind]
        obj.setdefault("apiVersion", api_version)
        obj.setdefault("kind", kind_name)
        meta = obj.setdefault("metadata", {})
        if namespace:
            meta["namespace"] = namespace
        meta.setdefault("labels", {})
        meta.update(
            uid=str(uuid.uuid4()),
            resourceVersion=str(next(self._versions)),
            creationTimestamp=meta.get("creationTimestamp") or now_iso(),
        )
        return obj

    def create(self, kind: str, namespace: str, body: dict[str, Any]) -> tuple[int, dict]:
        if kind in ("jobs", "secrets"):
            try:
                schema.validate(body)
            except Exception as exc:  # any validation failure fails the test
                self.invalid.append(f"{kind} {body.get('metadata', {}).get('name')}: {exc}")
                return 422, status_body(422, "Invalid", str(exc))
        with self.lock:
            name = body["metadata"]["name"]
            if (namespace, name) in self.objects[kind]:
                return 409, status_body(409, "AlreadyExists", f'{kind} "{name}" already exists')
            obj = self._stamp(kind, namespace, body)
            if kind == "secrets" and "stringData" in obj:
                strings = obj.pop("stringData").items()
                obj["data"] = {k: base64.b64encode(v.encode()).decode() for k, v in strings}
            if kind == "jobs":
                obj["status"] = {}
            self.objects[kind][(namespace, name)] = obj
            self.created.append(copy.deepcopy(body))
            if kind == "jobs" and self.auto_pods:
                self.add_pod_for(name, namespace)
            return 201, copy.deepcopy(obj)

    def add_pod_for(self, job_name: str, namespace: str = "petri") -> dict[str, Any]:
        """What the Job controller does: a Pending pod from the Job's template."""
        with self.lock:
            job = self.objects["jobs"][(namespace, job_name)]
            template = job["spec"]["template"]
            labels = dict(template["metadata"].get("labels") or {})
            labels.update({"job-name": job_name, "batch.kubernetes.io/job-name": job_name})
            name = f"{job_name}-{next(self._pod_suffix)}"
            pod = self._stamp(
                "pods",
                namespace,
                {
                    "metadata": {
                        "name": name,
                        "labels": labels,
                        "ownerReferences": [
                            {
                                "apiVersion": "batch/v1",
                                "kind": "Job",
                                "name": job_name,
                                "uid": job["metadata"]["uid"],
                                "controller": True,
                            }
                        ],
                    },
                    "spec": copy.deepcopy(template["spec"]),
                    "status": {"phase": "Pending"},
                },
            )
            self.objects["pods"][(namespace, name)] = pod
            job["status"] = {"active": 1, "ready": 0, "startTime": now_iso()}
            return pod

    def put(self, kind: str, body: dict[str, Any], namespace: str = "") -> None:
        """Store an object as is (nodes, pods of other workloads)."""
        with self.lock:
            obj = self._stamp(kind, namespace, body)
            self.objects[kind][(namespace, obj["metadata"]["name"])] = obj

    def delete(self, kind: str, namespace: str, name: str, policy: str) -> tuple[int, dict]:
        with self.lock:
            obj = self.objects[kind].pop((namespace, name), None)
            if obj is None:
                return 404, status_body(404, "NotFound", f'{kind} "{name}" not found')
            self.deletions.append((name, policy))
            if policy != "Orphan":
                self._collect(obj["metadata"]["uid"])
            return 200, status_body(200, "", "deleted", status="Success")

    def _collect(self, owner_uid: str) -> None:
        """The garbage collector: objects whose owner is gone go too."""
        for kind in ("pods", "secrets"):
            for key, obj in list(self.objects[kind].items()):
                owners = obj["metadata"].get("ownerReferences") or []
                if any(ref.get("uid") == owner_uid for ref in owners):
                    del self.objects[kind][key]

    def vanish(self, job: str, namespace: str = "petri") -> None:
        """The Job is deleted behind Petri's back (a TTL, a person with kubectl)."""
        self.delete("jobs", namespace, job, "Background")
        self.deletions.pop()

    def add_node(
        self,
        name: str,
        cpu: str = "4",
        memory: str = "16Gi",
        gpu: int = 0,
        labels: dict[str, str] | None = None,
        ready: bool = True,
        cordoned: bool = False,
        taints: list[dict[str, str]] | None = None,
    ) -> None:
        allocatable = {"cpu": cpu, "memory": memory, "pods": "110"}
        if gpu:
            allocatable["nvidia.com/gpu"] = str(gpu)
        node: dict[str, Any] = {
            "metadata": {
                "name": name,
                "labels": {"kubernetes.io/hostname": name, **(labels or {})},
            },
            "spec": {
                **({"unschedulable": True} if cordoned else {}),
                **({"taints": taints} if taints else {}),
            },
            "status": {
                "allocatable": allocatable,
                "capacity": dict(allocatable),
                "conditions": [condition("Ready", "True" if ready else "False")],
            },
        }
        self.put("nodes", node)

    def add_running_pod(
        self, name: str, node: str, requests: dict[str, str], namespace: str = "petri", **status
    ) -> None:
        """A pod of some other workload, holding ``requests`` on ``node``."""
        self.put(
            "pods",
            {
                "metadata": {"name": name, "labels": {"app": "other"}},
                "spec": {
                    "nodeName": node,
                    "containers": [
                        {"name": "main", "image": "x", "resources": {"requests": requests}}
                    ],
                },
                "status": {"phase": "Running", **status},
            },
            namespace,
        )
