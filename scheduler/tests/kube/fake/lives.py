"""The fake cluster's pods and Jobs moved through their lives: scheduled, running, ended."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class PodLives:
    """The levers that move a Job's newest pod, and the Job, through what a cluster does."""

    lock: threading.RLock
    objects: dict[str, dict[tuple[str, str], dict[str, Any]]]
    logs: dict[str, str]

    def _pod(self, job: str, namespace: str) -> dict[str, Any]:
        pods = [
            p
            for (ns, _), p in self.objects["pods"].items()
            if ns == namespace and p["metadata"]["labels"].get("job-name") == job
        ]
        assert pods, f"the Job {job} has no pod"
        return max(pods, key=lambda p: p["metadata"]["creationTimestamp"])

    def _job(self, job: str, namespace: str) -> dict[str, Any]:
        return self.objects["jobs"][(namespace, job)]

    def schedule(
        self, job: str, node: str = "node-a", namespace: str = "petri", since: str | None = None
    ) -> None:
        with self.lock:
            pod = self._pod(job, namespace)
            pod["spec"]["nodeName"] = node
            pod["status"]["conditions"] = [condition("PodScheduled", "True", since=since)]

    def unschedulable(
        self, job: str, since: str | None = None, namespace: str = "petri", message: str = ""
    ) -> None:
        with self.lock:
            unschedulable = condition("PodScheduled", "False", "Unschedulable", since=since)
            unschedulable["message"] = message or "0/3 nodes are available: 3 Insufficient cpu."
            self._pod(job, namespace)["status"]["conditions"] = [unschedulable]

    def waiting(self, job: str, reason: str, message: str = "", namespace: str = "petri") -> None:
        with self.lock:
            pod = self._pod(job, namespace)
            pod["status"]["containerStatuses"] = [
                _container(pod, {"waiting": {"reason": reason, "message": message}})
            ]

    def run(self, job: str, namespace: str = "petri", node: str = "node-a") -> None:
        with self.lock:
            self.schedule(job, node, namespace)
            pod = self._pod(job, namespace)
            pod["status"].update(
                phase="Running",
                containerStatuses=[
                    _container(pod, {"running": {"startedAt": now_iso()}}, ready=True)
                ],
            )
            pod["status"]["conditions"].append(condition("Ready", "True"))
            self._job(job, namespace)["status"].update(active=1, ready=1)

    def succeed(self, job: str, namespace: str = "petri") -> None:
        with self.lock:
            pod = self._pod(job, namespace)
            pod["status"].update(
                phase="Succeeded",
                containerStatuses=[_container(pod, _terminated(0, "Completed"))],
            )
            self._job(job, namespace)["status"] = {
                "succeeded": 1,
                "active": 0,
                "ready": 0,
                "conditions": [
                    condition("SuccessCriteriaMet", "True", "CompletionsReached"),
                    condition("Complete", "True", "CompletionsReached"),
                ],
            }

    def _job_failed(self, job: str, namespace: str, reason: str, message: str) -> None:
        self._job(job, namespace)["status"] = {
            "failed": 1,
            "active": 0,
            "ready": 0,
            "conditions": [
                condition("FailureTarget", "True", reason, message),
                condition("Failed", "True", reason, message),
            ],
        }

    def fail(
        self,
        job: str,
        exit_code: int = 1,
        reason: str = "Error",
        log: str | None = None,
        namespace: str = "petri",
    ) -> None:
        """The runner container ended with ``exit_code``; the Job fails (backoffLimit 0)."""
        with self.lock:
            pod = self._pod(job, namespace)
            pod["status"].update(
                phase="Failed", containerStatuses=[_container(pod, _terminated(exit_code, reason))]
            )
            if log is not None:
                self.logs[pod["metadata"]["name"]] = log
            self._job_failed(job, namespace, "BackoffLimitExceeded", "Job has reached the limit")

    def evict(self, job: str, namespace: str = "petri") -> None:
        with self.lock:
            pod = self._pod(job, namespace)
            pod["status"].update(
                phase="Failed",
                reason="Evicted",
                message="The node was low on resource: memory.",
                containerStatuses=[_container(pod, _terminated(137, "ContainerStatusUnknown"))],
            )
            pod["status"].setdefault("conditions", []).append(
                condition("DisruptionTarget", "True", "TerminationByKubelet", "low on memory")
            )
            self._job_failed(job, namespace, "BackoffLimitExceeded", "Job has reached the limit")

    def pass_deadline(self, job: str, namespace: str = "petri") -> None:
        """The Job ran past activeDeadlineSeconds: its pods are deleted and it fails."""
        with self.lock:
            uid = self._job(job, namespace)["metadata"]["uid"]
            for key, pod in list(self.objects["pods"].items()):
                if any(r["uid"] == uid for r in pod["metadata"]["ownerReferences"]):
                    del self.objects["pods"][key]
            self._job_failed(
                job, namespace, "DeadlineExceeded", "Job was active longer than specified deadline"
            )

    def suspend(self, job: str, namespace: str = "petri") -> None:
        """What Kueue does to a Job it has not admitted: suspended, and no pod."""
        with self.lock:
            obj = self._job(job, namespace)
            uid = obj["metadata"]["uid"]
            obj["spec"]["suspend"] = True
            obj["status"] = {"conditions": [condition("Suspended", "True", "JobSuspended")]}
            for key, pod in list(self.objects["pods"].items()):
                if any(r["uid"] == uid for r in pod["metadata"]["ownerReferences"]):
                    del self.objects["pods"][key]

    def set_log(self, job: str, text: str, namespace: str = "petri") -> None:
        with self.lock:
            self.logs[self._pod(job, namespace)["metadata"]["name"]] = text


def condition(
    kind: str, status: str, reason: str = "", message: str = "", since: str | None = None
) -> dict[str, Any]:
    condition = {"type": kind, "status": status, "lastTransitionTime": since or now_iso()}
    if reason:
        condition["reason"] = reason
    if message:
        condition["message"] = message
    return condition


def _container(pod: dict[str, Any], state: dict[str, Any], ready: bool = False) -> dict[str, Any]:
    container = pod["spec"]["containers"][0]
    return {
        "name": container["name"],
        "image": container["image"],
        "imageID": "",
        "ready": ready,
        "restartCount": 0,
        "state": state,
    }


def _terminated(code: int, reason: str) -> dict[str, Any]:
    return {"terminated": {"exitCode": code, "reason": reason, "finishedAt": now_iso()}}
