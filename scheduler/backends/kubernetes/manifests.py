"""The Kubernetes objects of one attempt: a batch/v1 Job and the Secret holding its token."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from scheduler.backends.base import BackendError, JobSpec

MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGER = "petri"
COMPONENT = "app.kubernetes.io/component"
RUNNER_COMPONENT = "runner"
LABEL_HANDLE = "petri.dev/handle"
LABEL_JOB = "petri.dev/job"
LABEL_ATTEMPT = "petri.dev/attempt"
LABEL_EXPERIMENT = "petri.dev/experiment"
LABEL_USER = "petri.dev/user"
LABEL_INSTALLATION = "petri.dev/installation"
# Kueue admits a Job whose pods carry this label to the named LocalQueue (optional).
LABEL_KUEUE_QUEUE = "kueue.x-k8s.io/queue-name"
ANNOTATION_USER = "petri.dev/username"
HOSTNAME_LABEL = "kubernetes.io/hostname"
GPU_RESOURCE = "nvidia.com/gpu"
TOKEN_KEY = "token"
RUNNER_CONTAINER = "runner"
# The runner image's user (base-image/Dockerfile); numeric so runAsNonRoot can be verified.
RUNNER_UID = 10001
# The runner enforces the experiment's timeout itself and reports deadline_exceeded; the Job's
# own deadline is the backstop for a runner that hangs, and also covers scheduling and pulling.
DEADLINE_GRACE_SECONDS = 120
MAX_NAME = 63

SELECTOR = f"{MANAGED_BY}={MANAGER}"
_LABEL_VALUE_BAD = re.compile(r"[^A-Za-z0-9_.-]+")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@dataclass(frozen=True)
class JobOptions:
    """How this installation shapes every runner Job (from the PETRI_K8S_* settings)."""

    runner_image: str
    image_pull_secrets: tuple[str, ...] = ()
    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: tuple[dict[str, Any], ...] = ()
    extra_labels: dict[str, str] = field(default_factory=dict)
    ttl_seconds: int = 3600
    # activeDeadlineSeconds of a Job whose experiment sets no timeout: nothing runs forever.
    default_deadline: int = 7 * 24 * 3600
    # A Kueue LocalQueue to submit every Job to; empty: Kueue is not used.
    kueue_queue: str = ""
    # Size of each runner's writable /tmp (an emptyDir) and its ephemeral-storage limit.
    tmp_size: str = "2Gi"


def label_value(text: str) -> str:
    """``text`` made a valid label value: allowed characters only, alphanumeric ends, ≤ 63."""
    cleaned = _LABEL_VALUE_BAD.sub("-", text)[:MAX_NAME]
    return re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", cleaned)


def cpu_quantity(cores: float) -> str:
    """Cores as a Kubernetes quantity: ``2`` or ``500m``."""
    millis = round(float(cores) * 1000)
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def labels_for(spec: JobSpec, extra: dict[str, str] | None = None) -> dict[str, str]:
    labels = dict(extra or {})
    # Petri's own labels win: reconcile and the NetworkPolicy select by them.
    labels.update(
        {
            MANAGED_BY: MANAGER,
            COMPONENT: RUNNER_COMPONENT,
            LABEL_HANDLE: spec.handle,
            LABEL_JOB: str(spec.job_id),
            LABEL_ATTEMPT: str(spec.attempt),
        }
    )
    if spec.installation:
        labels[LABEL_INSTALLATION] = spec.installation
    if spec.experiment_id is not None:
        labels[LABEL_EXPERIMENT] = str(spec.experiment_id)
    if spec.owner and label_value(spec.owner):
        labels[LABEL_USER] = label_value(spec.owner)
    return labels


def _resources(resources: dict[str, Any], tmp_size: str) -> dict[str, dict[str, str]]:
    # The writable /tmp is the only disk a runner uses: bound it, so one job cannot fill a node.
    requests: dict[str, str] = {}
    limits: dict[str, str] = {"ephemeral-storage": tmp_size} if tmp_size else {}
    if resources.get("cpu"):
        requests["cpu"] = limits["cpu"] = cpu_quantity(resources["cpu"])
    if resources.get("memory"):
        requests["memory"] = limits["memory"] = str(resources["memory"])
    if int(resources.get("gpu") or 0) > 0:
        # Extended resources are set as limits; the request defaults to the same number.
        limits[GPU_RESOURCE] = str(int(resources["gpu"]))
    return {"requests": requests, "limits": limits}


def check_name(handle: str) -> None:
    if len(handle) > MAX_NAME or not _DNS_LABEL.match(handle):
        raise BackendError(f"{handle!r} cannot name a Kubernetes Job (a DNS label of ≤ 63)")


def job_manifest(spec: JobSpec, options: JobOptions) -> dict[str, Any]:
    """The batch/v1 Job that runs ``python -m petri_runner`` for this attempt."""
    check_name(spec.handle)
    labels = labels_for(spec, options.extra_labels)
    node_selector = dict(options.node_selector)
    if spec.resources.get("node"):
        node_selector[HOSTNAME_LABEL] = str(spec.resources["node"])
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUNNER_UID,
            "runAsGroup": RUNNER_UID,
            "fsGroup": RUNNER_UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [
            {
                "name": RUNNER_CONTAINER,
                "image": spec.image or options.runner_image,
                "imagePullPolicy": "IfNotPresent",
                "command": ["python", "-m", "petri_runner"],
                "env": [
                    {"name": "PETRI_API_URL", "value": spec.api_url},
                    {
                        "name": "PETRI_JOB_TOKEN",
                        "valueFrom": {"secretKeyRef": {"name": spec.handle, "key": TOKEN_KEY}},
                    },
                    # The root filesystem is read-only; everything writable lives in /tmp.
                    {"name": "HOME", "value": "/tmp"},
                ],
                "resources": _resources(spec.resources, options.tmp_size),
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "privileged": False,
                    "readOnlyRootFilesystem": True,
                    "capabilities": {"drop": ["ALL"]},
                },
                "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
            }
        ],
        "volumes": [
            {"name": "tmp", "emptyDir": {"sizeLimit": options.tmp_size} if options.tmp_size else {}}
        ],
    }
    if node_selector:
        pod_spec["nodeSelector"] = node_selector
    if options.tolerations:
        pod_spec["tolerations"] = [dict(t) for t in options.tolerations]
    if options.image_pull_secrets:
        pod_spec["imagePullSecrets"] = [{"name": name} for name in options.image_pull_secrets]
    job_spec: dict[str, Any] = {
        # Petri owns retries: a failed pod fails the Job, and the scheduler decides.
        "backoffLimit": 0,
        "ttlSecondsAfterFinished": options.ttl_seconds,
        "template": {"metadata": {"labels": labels}, "spec": pod_spec},
    }
    if spec.timeout:
        job_spec["activeDeadlineSeconds"] = int(spec.timeout) + DEADLINE_GRACE_SECONDS
    elif options.default_deadline:
        job_spec["activeDeadlineSeconds"] = int(options.default_deadline)
    job_labels = dict(labels)
    if options.kueue_queue:
        job_labels[LABEL_KUEUE_QUEUE] = options.kueue_queue
    metadata: dict[str, Any] = {"name": spec.handle, "labels": job_labels}
    if spec.owner:
        metadata["annotations"] = {ANNOTATION_USER: spec.owner}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata, "spec": job_spec}


def secret_manifest(spec: JobSpec, job_uid: str, extra_labels: dict[str, str]) -> dict[str, Any]:
    """The runner token, owned by its Job so the garbage collector deletes it with the Job."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": spec.handle,
            "labels": labels_for(spec, extra_labels),
            "ownerReferences": [
                {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "name": spec.handle,
                    "uid": job_uid,
                    "blockOwnerDeletion": False,
                }
            ],
        },
        "type": "Opaque",
        "immutable": True,
        "stringData": {TOKEN_KEY: spec.token},
    }
