"""What a Job and its pods say about an attempt: still pending, running, or ended and why."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from jobs.models import RUNNER_LOST_EXIT_CODES, FailureReason
from scheduler.backends.base import BackendState
from scheduler.backends.kubernetes.manifests import RUNNER_CONTAINER

IMAGE_ERRORS = frozenset(
    {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"}
)
# These say the image itself is wrong; any other pull error (a registry's 429 or 5xx, a
# timeout, a refused connection) may pass, so the kubelet's own retries get the start grace.
IMAGE_ALWAYS_FINAL = frozenset({"InvalidImageName", "ErrImageNeverPull"})
IMAGE_MISSING_WORDS = (
    "not found",
    "manifest unknown",
    "name unknown",
    "does not exist",
    "pull access denied",
    "unauthorized",
    "denied",
)
# A pod that waits in one of these after being scheduled has its start grace counted.
START_WAITING = frozenset(
    {
        "ContainerCreating",
        "PodInitializing",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
        "PreCreateHookError",
        "PostStartHookError",
        *IMAGE_ERRORS,
    }
)
# Pod disruption reasons (the DisruptionTarget condition): the pod was pushed out, not broken.
EVICTED_POD_REASONS = frozenset({"Evicted", "Preempting", "Terminated", "NodeShutdown"})

# (handle, what is awaited: "scheduling" or "start"), the API's own time if any -> since when.
FirstSeen = Callable[[tuple[str, str], datetime | None], datetime]


@dataclass(frozen=True)
class Outcome:
    """The state to report, the failed pod whose log tail belongs in it, whether to stop the Job,
    and whether the Job is queued (suspended): no grace runs while a queue holds it."""

    state: BackendState
    log_pod: str = ""
    stop: bool = False
    queued: bool = False


@dataclass(frozen=True)
class Graces:
    scheduling: timedelta
    start: timedelta


def image_missing(waiting: dict[str, Any]) -> bool:
    """Whether a pull error says the image is wrong, not that pulling failed this time."""
    if waiting.get("reason") in IMAGE_ALWAYS_FINAL:
        return True
    message = (waiting.get("message") or "").lower()
    return any(words in message for words in IMAGE_MISSING_WORDS)


def suspended(job: dict[str, Any]) -> bool:
    """A Job a queue (Kueue) holds back: suspended, so it has no pod on purpose."""
    if (job.get("spec") or {}).get("suspend"):
        return True
    return "Suspended" in _true_conditions(job)


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _true_conditions(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return {c.get("type", ""): c for c in conditions if c.get("status") == "True"}


def _condition(obj: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return condition
    return None


def _runner_status(pod: dict[str, Any]) -> dict[str, Any]:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    for status in statuses:
        if status.get("name") == RUNNER_CONTAINER:
            return status
    return statuses[0] if statuses else {}


def _phase(pod: dict[str, Any]) -> str:
    return (pod.get("status") or {}).get("phase") or "Pending"


def pick_pod(pods: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The pod that tells the story: a failed one if any, else the newest."""
    if not pods:
        return None
    failed = [p for p in pods if _phase(p) == "Failed"]
    candidates = failed or pods
    return max(candidates, key=lambda p: (p.get("metadata") or {}).get("creationTimestamp") or "")


def _ended(
    handle: str, reason: str, message: str, exit_code: int | None = None, **extra
) -> Outcome:
    return Outcome(BackendState(handle, "exited", exit_code, reason, message), **extra)


def _lost_result(handle: str) -> Outcome:
    # A runner that posted its result made the job final, so this report is ignored; it
    # counts only when the runner exited 0 without a result.
    return _ended(handle, FailureReason.LOST, "the runner exited without posting a result", 0)


def failed_pod(handle: str, pod: dict[str, Any]) -> Outcome:
    """Classify a pod in phase Failed."""
    status = pod.get("status") or {}
    name = (pod.get("metadata") or {}).get("name", "")
    disruption = _true_conditions(pod).get("DisruptionTarget")
    if status.get("reason") in EVICTED_POD_REASONS or disruption:
        why = status.get("message") or (disruption or {}).get("message") or "evicted"
        return _ended(handle, FailureReason.EVICTED, f"the pod was evicted: {why}")
    if status.get("reason") == "DeadlineExceeded":
        return _ended(
            handle, FailureReason.DEADLINE_EXCEEDED, "the pod ran past its deadline", log_pod=name
        )
    container = _runner_status(pod)
    state = container.get("state") or {}
    terminated = state.get("terminated") or (container.get("lastState") or {}).get("terminated")
    if not terminated:
        why = status.get("message") or status.get("reason") or "no container status"
        return _ended(handle, FailureReason.LOST, f"the pod failed before the runner ran: {why}")
    code = terminated.get("exitCode")
    if terminated.get("reason") == "OOMKilled":
        return _ended(
            handle,
            FailureReason.OOM_KILLED,
            "the runner was killed for exceeding its memory limit (OOMKilled)",
            code,
            log_pod=name,
        )
    lost = code is None or code in RUNNER_LOST_EXIT_CODES or code >= 128
    return _ended(
        handle,
        FailureReason.LOST if lost else FailureReason.ALGORITHM_ERROR,
        f"the runner exited with status {code} ({terminated.get('reason') or 'Error'}) "
        "without a result",
        code,
        log_pod=name,
    )


def _pending_pod(
    handle: str, pod: dict[str, Any], now: datetime, graces: Graces, first_seen: FirstSeen
) -> Outcome:
    waiting = (_runner_status(pod).get("state") or {}).get("waiting") or {}
    reason = waiting.get("reason") or ""
    if reason in IMAGE_ERRORS and image_missing(waiting):
        image = (pod.get("spec") or {}).get("containers", [{}])[0].get("image", "")
        return _ended(
            handle,
            FailureReason.IMAGE_NOT_FOUND,
            f"cannot pull the image {image}: {reason}: {waiting.get('message', '')}",
            stop=True,
        )
    scheduled = _condition(pod, "PodScheduled")
    if scheduled and scheduled.get("status") == "True":
        # Bound to a node but not started: a config or container error, a pull that keeps
        # failing, a volume that never mounts. Each may pass; none may hold a node forever.
        if reason and reason not in START_WAITING:
            return Outcome(BackendState(handle, "pending"))
        since = first_seen((handle, "start"), parse_time(scheduled.get("lastTransitionTime")))
        waited = now - since
        if waited >= graces.start:
            why = f"{reason}: {waiting.get('message', '')}" if reason else "no container status"
            return _ended(
                handle,
                "start_failed",
                f"the pod did not start in {int(waited.total_seconds())} s: {why}",
                stop=True,
            )
        return Outcome(BackendState(handle, "pending"))
    if scheduled and scheduled.get("reason") == "Unschedulable":
        since = first_seen((handle, "scheduling"), parse_time(scheduled.get("lastTransitionTime")))
        waited = now - since
        if waited >= graces.scheduling:
            return _ended(
                handle,
                FailureReason.UNSCHEDULABLE,
                f"no node could take the pod for {int(waited.total_seconds())} s: "
                f"{scheduled.get('message', '')}",
                stop=True,
            )
    return Outcome(BackendState(handle, "pending"))


def finished(job: dict[str, Any]) -> bool:
    """The Job completed or failed (its pods are done; the TTL controller will remove it)."""
    return bool(
        set(_true_conditions(job)) & {"Complete", "SuccessCriteriaMet", "Failed", "FailureTarget"}
    )


def classify(
    handle: str,
    job: dict[str, Any] | None,
    pods: list[dict[str, Any]] | None,
    *,
    now: datetime,
    graces: Graces,
    first_seen: FirstSeen,
) -> Outcome:
    """The attempt's state from its Job (None when gone) and its pods (None: not read)."""
    if job is None:
        return Outcome(
            BackendState(
                handle,
                "gone",
                reason=FailureReason.LOST,
                message="the Kubernetes Job is gone, with no result",
            )
        )
    conditions = _true_conditions(job)
    if "Complete" in conditions or "SuccessCriteriaMet" in conditions:
        return _lost_result(handle)
    failed = conditions.get("Failed") or conditions.get("FailureTarget")
    if pods is None and not failed and (job.get("status") or {}).get("ready"):
        # Its pod is running and ready: no need to read the pods for that.
        return Outcome(BackendState(handle, "running"))
    pod = pick_pod(pods or [])
    pod_name = (pod or {}).get("metadata", {}).get("name", "")
    if failed and failed.get("reason") == "DeadlineExceeded":
        return _ended(
            handle,
            FailureReason.DEADLINE_EXCEEDED,
            f"Kubernetes stopped the Job at its deadline: {failed.get('message', '')}",
            log_pod=pod_name,
        )
    if pod is not None and _phase(pod) == "Failed":
        return failed_pod(handle, pod)
    if failed:
        return _ended(
            handle,
            FailureReason.LOST,
            f"the Job failed: {failed.get('reason')}: {failed.get('message', '')}",
        )
    if pod is None and suspended(job):
        return Outcome(BackendState(handle, "pending", message="queued"), queued=True)
    if pod is None:
        # The Job controller has not made a pod (yet): a quota, an admission webhook...
        created = parse_time((job.get("metadata") or {}).get("creationTimestamp"))
        waited = now - first_seen((handle, "scheduling"), created)
        if waited >= graces.scheduling:
            return _ended(
                handle,
                FailureReason.UNSCHEDULABLE,
                f"no pod was created for the Job in {int(waited.total_seconds())} s",
                stop=True,
            )
        return Outcome(BackendState(handle, "pending"))
    phase = _phase(pod)
    if phase == "Succeeded":
        return _lost_result(handle)
    if phase == "Running":
        return Outcome(BackendState(handle, "running"))
    return _pending_pod(handle, pod, now, graces, first_seen)
