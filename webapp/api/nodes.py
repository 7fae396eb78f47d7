"""``GET /api/nodes/``: the nodes jobs can run on, so users can pick one."""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from scheduler.backends import Backend, BackendError, Node, create_backend

log = logging.getLogger(__name__)

_backends: dict[str, Backend] = {}
_backends_lock = threading.Lock()


def web_backend() -> Backend:
    """The configured backend, created once per web process (its API client is reused)."""
    name = settings.PETRI_BACKEND
    with _backends_lock:
        if name not in _backends:
            _backends[name] = create_backend(name)
        return _backends[name]


def forget_backends() -> None:
    """Drop the cached backends (tests that change the configuration)."""
    with _backends_lock:
        for backend in _backends.values():
            backend.shutdown()
        _backends.clear()


class NodeSerializer(serializers.Serializer):
    name = serializers.CharField()
    cpu_allocatable = serializers.FloatField(help_text="cores")
    cpu_requested = serializers.FloatField(help_text="cores requested by running pods")
    cpu_free = serializers.SerializerMethodField(help_text="cores")
    memory_allocatable = serializers.IntegerField(help_text="bytes")
    memory_requested = serializers.IntegerField(help_text="bytes")
    memory_free = serializers.SerializerMethodField(help_text="bytes")
    gpu_allocatable = serializers.IntegerField()
    gpu_requested = serializers.IntegerField()
    gpu_free = serializers.SerializerMethodField()
    labels = serializers.DictField(child=serializers.CharField())

    def get_cpu_free(self, node: Node) -> float:
        return max(0.0, round(node.cpu_allocatable - node.cpu_requested, 3))

    def get_memory_free(self, node: Node) -> int:
        return max(0, node.memory_allocatable - node.memory_requested)

    def get_gpu_free(self, node: Node) -> int:
        return max(0, node.gpu_allocatable - node.gpu_requested)


class NodesView(APIView):
    @extend_schema(responses=NodeSerializer(many=True))
    def get(self, request):
        try:
            nodes = web_backend().nodes()
        except BackendError as exc:
            log.warning("cannot list nodes: %s", exc)
            return Response(
                {"detail": f"the {settings.PETRI_BACKEND} backend cannot list its nodes: {exc}"},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        return Response(NodeSerializer(nodes, many=True).data)


def listed_nodes() -> list[Node] | None:
    """The nodes a job may name in ``resources.node``; None when they cannot be listed now.

    The one place submission learns about nodes: how the web app reaches the backend may
    change, this function's answer may not.
    """
    try:
        return list(web_backend().nodes())
    except BackendError as exc:
        log.warning("cannot list nodes to check resources.node: %s", exc)
        return None
