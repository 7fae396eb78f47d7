"""``/api/schedules/``: a user's recurring runs (django-celery-beat rows underneath)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from jobs.models import Experiment, Pipeline, RecurringFiring, RecurringRun
from jobs.services import recurring
from webapp.api.parsers import BoundedJSONParser


class FiringSerializer(serializers.ModelSerializer):
    class Meta:
        model = RecurringFiring
        fields = ["slot", "fired_at", "experiment", "pipeline", "skipped"]


class ScheduleSerializer(serializers.ModelSerializer):
    enabled = serializers.BooleanField(source="periodic_task.enabled", read_only=True)
    cron = serializers.SerializerMethodField()
    every_seconds = serializers.SerializerMethodField()
    last_run_at = serializers.DateTimeField(source="periodic_task.last_run_at", read_only=True)
    total_run_count = serializers.IntegerField(
        source="periodic_task.total_run_count", read_only=True
    )
    next_run_at = serializers.SerializerMethodField()
    recent_firings = serializers.SerializerMethodField()

    class Meta:
        model = RecurringRun
        fields = [
            "id",
            "experiment",
            "pipeline",
            "cron",
            "every_seconds",
            "enabled",
            "newest_datasets",
            "created_at",
            "last_run_at",
            "total_run_count",
            "next_run_at",
            "recent_firings",
        ]

    def get_cron(self, run: RecurringRun) -> str | None:
        tab = run.periodic_task.crontab
        if tab is None:
            return None
        return " ".join(getattr(tab, field) for field in recurring.CRON_FIELDS)

    def get_every_seconds(self, run: RecurringRun) -> int | None:
        interval = run.periodic_task.interval
        return int(interval.schedule.run_every.total_seconds()) if interval else None

    def get_next_run_at(self, run: RecurringRun) -> str | None:
        due = recurring.next_due(run)
        return due.isoformat() if due else None

    @extend_schema(responses=FiringSerializer(many=True))
    def get_recent_firings(self, run: RecurringRun) -> list[dict]:
        return FiringSerializer(recurring.firings_of(run, limit=10), many=True).data


class ScheduleWriteSerializer(serializers.Serializer):
    experiment = serializers.IntegerField(required=False, help_text="the experiment to run again")
    pipeline = serializers.IntegerField(required=False, help_text="or the pipeline to run again")
    cron = serializers.CharField(required=False, allow_blank=True, max_length=200)
    every_seconds = serializers.IntegerField(required=False, allow_null=True)
    enabled = serializers.BooleanField(required=False)
    newest_datasets = serializers.BooleanField(required=False)


class ScheduleViewSet(
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.ReadOnlyModelViewSet,
):
    """Schedule one of your experiments or pipelines to be submitted again on a cron expression
    or every N seconds; pause (``enabled: false``), resume, reschedule or delete it."""

    serializer_class = ScheduleSerializer
    parser_classes = [BoundedJSONParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema is built with no user
            return RecurringRun.objects.none()
        return (
            RecurringRun.objects.filter(owner=self.request.user)
            .select_related("periodic_task__crontab", "periodic_task__interval")
            .order_by("-created_at")
        )

    @extend_schema(request=ScheduleWriteSerializer, responses=ScheduleSerializer)
    def create(self, request, *args, **kwargs):
        form = ScheduleWriteSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        experiment = pipeline = None
        if ("experiment" in data) == ("pipeline" in data):
            raise serializers.ValidationError(
                {"experiment": ["give either an experiment or a pipeline"]}
            )
        if "pipeline" in data:
            pipeline = Pipeline.objects.filter(pk=data["pipeline"], owner=request.user).first()
            if pipeline is None:
                raise serializers.ValidationError({"pipeline": ["no pipeline of yours has it"]})
        else:
            experiment = Experiment.objects.filter(
                pk=data["experiment"], owner=request.user
            ).first()
            if experiment is None:
                raise serializers.ValidationError({"experiment": ["no experiment of yours has it"]})
        run = recurring.create_recurring_run(
            owner=request.user,
            experiment=experiment,
            pipeline=pipeline,
            cron=data.get("cron", ""),
            every_seconds=data.get("every_seconds"),
            newest_datasets=data.get("newest_datasets", False),
            enabled=data.get("enabled", True),
        )
        return Response(ScheduleSerializer(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ScheduleWriteSerializer, responses=ScheduleSerializer)
    def update(self, request, *args, **kwargs):
        run = self.get_object()
        form = ScheduleWriteSerializer(data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        for field in ("experiment", "pipeline"):
            if field in data and data[field] != getattr(run, f"{field}_id"):
                raise serializers.ValidationError({field: ["cannot be changed; schedule anew"]})
        run = recurring.update_recurring_run(
            run,
            enabled=data.get("enabled"),
            cron=data.get("cron") or None,
            every_seconds=data.get("every_seconds"),
            newest_datasets=data.get("newest_datasets"),
        )
        return Response(ScheduleSerializer(run).data)

    def perform_destroy(self, instance: RecurringRun) -> None:
        recurring.delete_recurring_run(instance)
