"""/api/pipelines/: submit a pipeline spec, watch its stages, cancel or retry it."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from jobs import services
from jobs.errors import InvalidInput
from jobs.models import Experiment, Pipeline, Stage
from jobs.status import annotated_counts, derive_status, with_job_counts
from webapp.api.nodes import listed_nodes
from webapp.api.sharing import ChangeableMixin


def _experiments(pipeline: Pipeline) -> dict[int, list[dict[str, Any]]]:
    """Each stage's experiments with their status, in one query."""
    rows = with_job_counts(
        Experiment.objects.filter(pipeline_stage__pipeline=pipeline).select_related("dataset")
    ).order_by("id")
    by_stage: dict[int, list[dict[str, Any]]] = {}
    for experiment in rows:
        counts = annotated_counts(experiment)
        by_stage.setdefault(experiment.pipeline_stage_id, []).append(
            {
                "id": experiment.pk,
                "name": experiment.name,
                "status": derive_status(counts),
                "dataset": experiment.dataset_id,
                "dataset_name": experiment.dataset.name if experiment.dataset else "",
                "counts": {k: v for k, v in counts.items() if v},
            }
        )
    return by_stage


class StageSerializer(serializers.ModelSerializer):
    algorithm = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = Stage
        fields = [
            "name",
            "kind",
            "status",
            "algorithm",
            "dataset",
            "needs",
            "inputs",
            "on_failure",
            "template",
            "error",
            "started_at",
            "finished_at",
            "previous_experiments",
        ]


class PipelineSerializer(serializers.ModelSerializer):
    """A pipeline with each stage's status and experiments; the compare table on one pipeline."""

    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    stages = serializers.SerializerMethodField()

    class Meta:
        model = Pipeline
        fields = ["id", "name", "status", "owner", "created_at", "finished_at", "spec", "stages"]

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_stages(self, pipeline: Pipeline) -> list[dict[str, Any]]:
        detail = self.context.get("detail", False)
        experiments = _experiments(pipeline) if detail else {}
        stages = []
        for stage in pipeline.stages.all():
            row = StageSerializer(stage).data
            if detail:
                row["experiments"] = experiments.get(stage.pk, [])
                row["result"] = stage.result
            stages.append(row)
        return stages


class PipelineSpecSerializer(serializers.Serializer):
    """The spec (docs/pipelines.md); checked whole by the service, which names stage and field."""

    name = serializers.CharField(required=False, allow_blank=True)
    stages = serializers.ListField(child=serializers.JSONField())


class PipelineViewSet(ChangeableMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = PipelineSerializer
    ordering_fields = ["created_at", "name", "status"]

    def get_queryset(self):
        return (
            Pipeline.objects.visible_to(self.request.user)
            .select_related("owner")
            .prefetch_related("stages__algorithm")
        )

    def _detail(self, pipeline: Pipeline, code: int = status.HTTP_200_OK) -> Response:
        pipeline = self.get_queryset().get(pk=pipeline.pk)
        return Response(PipelineSerializer(pipeline, context={"detail": True}).data, status=code)

    def retrieve(self, request, *args, **kwargs):
        return self._detail(self.get_object())

    @extend_schema(request=PipelineSpecSerializer, responses={201: PipelineSerializer})
    def create(self, request, *args, **kwargs):
        pipeline = services.submit_pipeline(request.user, request.data, list_nodes=listed_nodes)
        return self._detail(pipeline, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=PipelineSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel its running experiments and every stage not yet run (409 once it ended)."""
        return self._detail(services.cancel_pipeline(self.get_changeable_object()))

    @extend_schema(request=None, responses=PipelineSerializer)
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        """Run again every stage that did not succeed, and those after it (409 unless ended)."""
        return self._detail(services.retry_pipeline(self.get_changeable_object()))

    @extend_schema(
        parameters=[OpenApiParameter("stage", str, description="default: the last compare stage")],
        responses=inline_serializer(
            "CompareTable",
            {
                "stage": serializers.CharField(),
                "columns": serializers.ListField(child=serializers.CharField()),
                "rows": serializers.ListField(child=serializers.DictField()),
                "truncated": serializers.BooleanField(),
            },
        ),
    )
    @action(detail=True, methods=["get"])
    def table(self, request, pk=None):
        """A compare stage's table: every discovery job against its dataset's truth."""
        compares = self.get_object().stages.filter(kind=Stage.Kind.COMPARE)
        if "stage" in request.query_params:
            compares = compares.filter(name=request.query_params["stage"])
        stage = compares.last()
        if stage is None:
            raise InvalidInput({"stage": ["names no compare stage of this pipeline"]})
        if stage.result is None:
            return Response({"detail": f"stage {stage.name!r} has not run yet"}, status=404)
        return Response({"stage": stage.name, **stage.result})
