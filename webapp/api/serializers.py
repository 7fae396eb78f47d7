"""Shapes of the users' API; validation of the business rules happens in jobs.services."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from jobs.models import Algorithm, Artifact, Dataset, Experiment, Job, OutputFile
from jobs.status import FINAL_EXPERIMENT_STATUSES, summary


class AlgorithmSerializer(serializers.ModelSerializer):
    class Meta:
        model = Algorithm
        fields = [
            "name",
            "title",
            "description",
            "language",
            "image",
            "backend",
            "dataset_input",
            "resources",
            "parameters",
            "enabled",
        ]


class DatasetSerializer(serializers.ModelSerializer):
    has_truth = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()
    # Where it came from: a query on a registered database (by name), or a generator job.
    source_database = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = Dataset
        fields = [
            "id",
            "name",
            "sha256",
            "size",
            "columns",
            "rows",
            "has_truth",
            "created_at",
            "download_url",
            "source_database",
            "query",
            "loaded_at",
            "load_seconds",
            "version",
            "previous",
            "generated_by",
        ]

    def get_has_truth(self, obj: Dataset) -> bool:
        return obj.truth is not None

    def get_download_url(self, obj: Dataset) -> str:
        return reverse("dataset-download", args=[obj.pk])


class DatasetUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="a CSV file with a header row")
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    truth = serializers.FileField(required=False, help_text="optional ground-truth graph.json")


class ExperimentSerializer(serializers.ModelSerializer):
    algorithm = serializers.SlugRelatedField(slug_field="name", read_only=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    shared_with = serializers.SlugRelatedField(slug_field="username", many=True, read_only=True)
    counts = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()
    started_at = serializers.SerializerMethodField()
    finished_at = serializers.SerializerMethodField()
    code = serializers.SerializerMethodField()
    tags = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    archived = serializers.SerializerMethodField()

    class Meta:
        model = Experiment
        fields = [
            "id",
            "name",
            "notes",
            "tags",
            "archived",
            "archived_at",
            "algorithm",
            "code",
            "dataset",
            "parameters",
            "repeats",
            "priority",
            "resources",
            "backend",
            "max_attempts",
            "retry_algorithm_errors",
            "timeout",
            "objective",
            "objective_order",
            "objectives",
            "strategy",
            "max_jobs",
            "parallelism",
            "max_failed",
            "goal",
            "max_seconds",
            "seed",
            "pruner",
            "stop_reason",
            "stopped_at",
            "job_count",
            "created_at",
            "counts",
            "status",
            "progress",
            "started_at",
            "finished_at",
            "owner",
            "shared_with",
        ]

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "properties": {
                "artifact": {"type": "integer"},
                "entrypoint": {"type": "array", "items": {"type": "string"}},
                "parameter_schema": {"type": "object"},
            },
        }
    )
    def get_code(self, obj: Experiment) -> dict[str, Any] | None:
        """For uploaded code: what to submit again to re-run it (null for catalog algorithms)."""
        algorithm = obj.algorithm
        if algorithm.artifact_id is None:
            return None
        return {
            "artifact": algorithm.artifact_id,
            "entrypoint": algorithm.entrypoint,
            # As submitted: a mapping of name to specification.
            "parameter_schema": {
                spec["name"]: {key: value for key, value in spec.items() if key != "name"}
                for spec in algorithm.parameters
            },
        }

    def get_archived(self, obj: Experiment) -> bool:
        return obj.archived_at is not None

    def _summary(self, obj: Experiment) -> dict[str, Any]:
        if not hasattr(obj, "_petri_summary"):
            obj._petri_summary = summary(obj)
        return obj._petri_summary

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "integer"}})
    def get_counts(self, obj: Experiment) -> dict[str, int]:
        return self._summary(obj)["counts"]

    def get_status(self, obj: Experiment) -> str:
        return self._summary(obj)["status"]

    def get_started_at(self, obj: Experiment) -> datetime | None:
        """The first start of any of its jobs (annotated by the viewset)."""
        return getattr(obj, "started_at", None)

    def get_finished_at(self, obj: Experiment) -> datetime | None:
        """Its last job's finish, once every job has finished (annotated by the viewset)."""
        if self.get_status(obj) not in FINAL_EXPERIMENT_STATUSES:
            return None
        return getattr(obj, "last_finished_at", None)

    def get_progress(self, obj: Experiment) -> float:
        return self._summary(obj)["progress"]


class ExperimentCreateSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    algorithm = serializers.SlugRelatedField(
        slug_field="name", queryset=Algorithm.objects.none(), required=False
    )
    dataset = serializers.PrimaryKeyRelatedField(
        queryset=Dataset.objects.none(), required=False, allow_null=True
    )
    # Uploaded code instead of a catalog algorithm: the artifact, its argv and its schema.
    artifact = serializers.PrimaryKeyRelatedField(
        queryset=Artifact.objects.none(), required=False, allow_null=True
    )
    entrypoint = serializers.JSONField(required=False, help_text="argv, with an artifact")
    parameter_schema = serializers.JSONField(
        required=False, default=dict, help_text="as algorithm.yaml's parameters, with an artifact"
    )
    parameters = serializers.JSONField(required=False, default=dict)
    repeats = serializers.JSONField(required=False, default=1)
    priority = serializers.JSONField(required=False, default=0)
    resources = serializers.JSONField(required=False, default=dict)
    max_attempts = serializers.JSONField(required=False, default=None)
    timeout = serializers.JSONField(required=False, default=None)
    retry_algorithm_errors = serializers.BooleanField(required=False, default=False)
    objective = serializers.CharField(
        required=False, allow_blank=True, max_length=100, help_text="the metric that ranks jobs"
    )
    objective_order = serializers.ChoiceField(["min", "max"], required=False)
    backend = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=40,
        help_text="where the jobs run, one of the installation's backends (GET /api/nodes/); "
        "default: the algorithm's, else the installation's default",
    )
    # Searches (docs/search.md); checked by jobs.search.options, which names the field.
    strategy = serializers.CharField(
        required=False,
        default="grid",
        max_length=12,
        help_text="grid (every combination), random, sobol, tpe, cmaes or gp",
    )
    objectives = serializers.JSONField(
        required=False, default=None, help_text='two {"name", "order"}: a multi-objective search'
    )
    max_jobs = serializers.JSONField(required=False, default=None, help_text="a search's budget")
    parallelism = serializers.JSONField(
        required=False, default=None, help_text="a search's live jobs at most"
    )
    max_failed = serializers.JSONField(
        required=False, default=None, help_text="stop once this many jobs failed"
    )
    goal = serializers.JSONField(
        required=False, default=None, help_text="stop once the objective reaches this"
    )
    max_seconds = serializers.JSONField(
        required=False, default=None, help_text="wall-clock budget in seconds from submission"
    )
    pruner = serializers.JSONField(
        required=False, default=None, help_text="median, successive_halving or hyperband"
    )
    seed = serializers.JSONField(required=False, default=None, help_text="the sampler's seed")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["dataset"].queryset = Dataset.objects.visible_to(request.user)
            self.fields["artifact"].queryset = Artifact.objects.visible_to(request.user)
            # The catalog, and the user's own artifact algorithms; never another user's.
            self.fields["algorithm"].queryset = Algorithm.objects.filter(
                Q(owner__isnull=True) | Q(owner=request.user)
            )

    def validate(self, attrs):
        if attrs.get("artifact") is not None:
            if attrs.get("algorithm") is not None:
                raise serializers.ValidationError(
                    {"algorithm": ["give an algorithm or an artifact, not both"]}
                )
            if "entrypoint" not in attrs:
                raise serializers.ValidationError({"entrypoint": ["is required with an artifact"]})
            attrs.pop("algorithm", None)
            return attrs
        if attrs.get("algorithm") is None:
            raise serializers.ValidationError({"algorithm": ["give an algorithm or an artifact"]})
        for key in ("entrypoint", "parameter_schema", "artifact"):
            attrs.pop(key, None)
        return attrs


class JobSerializer(serializers.ModelSerializer):
    metrics = serializers.SerializerMethodField()
    runtime = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = [
            "id",
            "experiment",
            "index",
            "repeat",
            "parameters",
            "status",
            "attempt",
            "max_attempts",
            "progress",
            "created_at",
            "claimed_at",
            "started_at",
            "finished_at",
            "runtime",
            "failure_reason",
            "wait_reason",
            "error",
            "exit_code",
            "metrics",
            "backend",
            "handle",
        ]

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "number"}})
    def get_metrics(self, obj: Job) -> dict[str, float]:
        result = getattr(obj, "result", None)
        return result.metrics if result is not None else {}

    def get_runtime(self, obj: Job) -> float | None:
        """Seconds from start to finish (or to now while running)."""
        if obj.started_at is None:
            return None
        end = obj.finished_at or timezone.now()
        return round((end - obj.started_at).total_seconds(), 3)


class OutputFileSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = OutputFile
        fields = ["name", "attempt", "size", "created_at", "url"]

    def get_url(self, obj: OutputFile) -> str:
        return reverse("job-file", args=[obj.job_id, obj.name])


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
    name = serializers.CharField(
        required=False,
        default="api",
        max_length=100,
        help_text="the client's name (e.g. its host); signing in again replaces its token",
    )
    expires_in_days = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=3650,
        help_text="0: never; default PETRI_TOKEN_EXPIRY_DAYS",
    )
