"""The cluster's nodes as users pick them: allocatable, and what pods already requested."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from kubernetes.utils.quantity import parse_quantity

from scheduler.backends.base import Node
from scheduler.backends.kubernetes.manifests import GPU_RESOURCE

RESOURCES = ("cpu", "memory", GPU_RESOURCE)


def _quantity(value: Any) -> Decimal:
    try:
        return parse_quantity(value) if value is not None else Decimal(0)
    except ValueError:
        return Decimal(0)


def pod_requests(pod: dict[str, Any]) -> dict[str, Decimal]:
    """A pod's effective requests: its containers' sum, or its largest init container's."""
    spec = pod.get("spec") or {}
    totals: dict[str, Decimal] = {}
    for name in RESOURCES:
        running = sum((_requested(c, name) for c in spec.get("containers") or []), start=Decimal(0))
        init = max((_requested(c, name) for c in spec.get("initContainers") or []), default=0)
        overhead = _quantity((spec.get("overhead") or {}).get(name))
        totals[name] = max(running, Decimal(init)) + overhead
    return totals


def _requested(container: dict[str, Any], name: str) -> Decimal:
    resources = container.get("resources") or {}
    requests = resources.get("requests") or {}
    # An extended resource or a request left out defaults to the limit.
    value = requests.get(name, (resources.get("limits") or {}).get(name))
    return _quantity(value)


def _usable(node: dict[str, Any]) -> bool:
    if (node.get("spec") or {}).get("unschedulable"):
        return False
    for condition in (node.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return condition.get("status") == "True"
    return False


def tolerated(node: dict[str, Any], tolerations: tuple[dict[str, Any], ...]) -> bool:
    """Whether runner pods with these tolerations may be scheduled on the node."""
    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") not in ("NoSchedule", "NoExecute"):
            continue  # PreferNoSchedule only discourages
        if not any(_tolerates(t, taint) for t in tolerations):
            return False
    return True


def _tolerates(toleration: dict[str, Any], taint: dict[str, Any]) -> bool:
    if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
        return False
    if not toleration.get("key"):
        return toleration.get("operator") == "Exists"  # an empty key with Exists: everything
    if toleration["key"] != taint.get("key"):
        return False
    if toleration.get("operator") == "Exists":
        return True
    return toleration.get("value", "") == taint.get("value", "")


def summarize(nodes: list[dict[str, Any]], pods: list[dict[str, Any]]) -> list[Node]:
    """Ready, uncordoned nodes, each with the requests of the active pods bound to it."""
    requested: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for pod in pods:
        node_name = (pod.get("spec") or {}).get("nodeName")
        if not node_name:
            continue
        for name, amount in pod_requests(pod).items():
            requested[node_name][name] += amount
    report = []
    for node in nodes:
        name = node["metadata"]["name"]
        if not _usable(node):
            continue
        allocatable = (node.get("status") or {}).get("allocatable") or {}
        used = requested[name]
        report.append(
            Node(
                name=name,
                cpu_allocatable=float(_quantity(allocatable.get("cpu"))),
                cpu_requested=float(used["cpu"]),
                memory_allocatable=int(_quantity(allocatable.get("memory"))),
                memory_requested=int(used["memory"]),
                gpu_allocatable=int(_quantity(allocatable.get(GPU_RESOURCE))),
                gpu_requested=int(used[GPU_RESOURCE]),
                labels=dict(node["metadata"].get("labels") or {}),
            )
        )
    return sorted(report, key=lambda n: n.name)
