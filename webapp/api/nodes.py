"""``GET /api/nodes/``: the nodes jobs can run on, as the scheduler last published them."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs.models import BackendNode
from jobs.services.nodes import published_nodes


class NodeSerializer(serializers.ModelSerializer):
    cpu_free = serializers.SerializerMethodField(help_text="cores")
    memory_free = serializers.SerializerMethodField(help_text="bytes")
    gpu_free = serializers.SerializerMethodField()

    class Meta:
        model = BackendNode
        fields = [
            "backend",
            "name",
            "cpu_allocatable",
            "cpu_requested",
            "cpu_free",
            "memory_allocatable",
            "memory_requested",
            "memory_free",
            "gpu_allocatable",
            "gpu_requested",
            "gpu_free",
            "labels",
            "published_at",
        ]

    def get_cpu_free(self, node: BackendNode) -> float:
        return max(0.0, round(node.cpu_allocatable - node.cpu_requested, 3))

    def get_memory_free(self, node: BackendNode) -> int:
        return max(0, node.memory_allocatable - node.memory_requested)

    def get_gpu_free(self, node: BackendNode) -> int:
        return max(0, node.gpu_allocatable - node.gpu_requested)


class NodesView(APIView):
    @extend_schema(responses=NodeSerializer(many=True))
    def get(self, request):
        backends = settings.PETRI_BACKENDS
        nodes = published_nodes(backends)
        if not nodes:
            return Response(
                {
                    "detail": f"no scheduler has published the nodes of {', '.join(backends)} "
                    "yet (each does at every reconcile; see its log)"
                },
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        return Response(NodeSerializer(nodes, many=True).data)


def listed_nodes() -> list[BackendNode] | None:
    """The nodes a job may name in ``resources.node``; None when none is known yet.

    The one place submission learns about nodes: what the schedulers last published.
    """
    return published_nodes(settings.PETRI_BACKENDS) or None
