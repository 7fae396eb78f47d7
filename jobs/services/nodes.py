"""The backend's nodes: published by the scheduler that sees them, read by the web app."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from jobs.models import BackendNode

NODE_FIELDS = (
    "cpu_allocatable",
    "cpu_requested",
    "memory_allocatable",
    "memory_requested",
    "gpu_allocatable",
    "gpu_requested",
    "labels",
)


def publish_nodes(backend: str, publisher: str, nodes: Iterable[Mapping[str, Any]]) -> int:
    """Replace what ``publisher`` last published of ``backend``'s nodes with ``nodes``.

    Each node maps ``name`` and NODE_FIELDS. Nodes another scheduler published stay (two local
    schedulers on two machines each publish their own); a node seen by several is the latest.
    """
    now = timezone.now()
    rows = [
        BackendNode(
            backend=backend,
            name=node["name"],
            published_by=publisher,
            published_at=now,
            **{field: node[field] for field in NODE_FIELDS},
        )
        for node in nodes
    ]
    with transaction.atomic():
        BackendNode.objects.filter(backend=backend, published_by=publisher).exclude(
            name__in=[row.name for row in rows]
        ).delete()
        BackendNode.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["backend", "name"],
            update_fields=["published_by", "published_at", *NODE_FIELDS],
        )
    return len(rows)


def withdraw_nodes(backend: str, publisher: str) -> None:
    """A stopping scheduler takes back the nodes only it could see."""
    BackendNode.objects.filter(backend=backend, published_by=publisher).delete()


def published_nodes(backends: list[str]) -> list[BackendNode]:
    """The nodes last published for these backends, by backend, then name."""
    return list(BackendNode.objects.filter(backend__in=backends).order_by("backend", "name"))
