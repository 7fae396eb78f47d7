"""The users' API: thin viewsets that validate, call jobs.services and render."""

from __future__ import annotations

import csv
import io
import itertools

from django.conf import settings
from django.db import connection
from django.http import FileResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs import graphs, services
from jobs.errors import InvalidInput
from jobs.models import Algorithm, Dataset, Experiment, Job, JobEvent, OutputFile
from jobs.services.artifacts import submit_artifact_experiment
from jobs.services.search import extend_search
from jobs.status import job_times, with_job_counts, with_job_times
from webapp.accounts import services as account_services
from webapp.api.accounts import NewApiTokenSerializer
from webapp.api.credentials import signed_in_user
from webapp.api.exceptions import int_query_param
from webapp.api.filters import ExperimentFilter, JobFilter
from webapp.api.manage import ExperimentManageMixin
from webapp.api.nodes import listed_nodes
from webapp.api.results import (
    ExperimentResultsMixin,
    JobResultsMixin,
    MetricFilterBackend,
    MetricOrderingFilter,
)
from webapp.api.serializers import (
    AlgorithmSerializer,
    DatasetSerializer,
    DatasetUploadSerializer,
    ExperimentCreateSerializer,
    ExperimentSerializer,
    JobSerializer,
    OutputFileSerializer,
    TokenRequestSerializer,
)
from webapp.api.sharing import ChangeableMixin, SharingMixin
from webapp.api.sources import DatasetSourceActions

LOG_EVENTS_PER_PAGE = 200
METRIC_POINTS_MAX = 100_000
PREVIEW_MAX_ROWS = 100


def healthz(request):
    """Liveness: the process answers. Not the database: a database outage must not restart
    every web process (readiness, /readyz, takes them out of service instead)."""
    return JsonResponse({"status": "ok"})


def readyz(request):
    """Readiness: the database answers and every migration is applied (503 until then)."""
    from django.db.migrations.executor import MigrationExecutor

    try:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:  # any database failure means "not ready", never a 500
        return JsonResponse({"status": "unavailable", "detail": str(exc)}, status=503)
    if pending:
        return JsonResponse({"status": "migrating", "pending": len(pending)}, status=503)
    return JsonResponse({"status": "ready"})


class ObtainTokenView(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes = []

    """A password sign-in for scripts: the client's token of that name, replaced (key once)."""

    @extend_schema(request=TokenRequestSerializer, responses={201: NewApiTokenSerializer})
    def post(self, request):
        form = TokenRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        user = signed_in_user(request, data["username"], data["password"])
        token, key = account_services.sign_in_token(user, data["name"], data.get("expires_in_days"))
        token.key = key
        return Response(NewApiTokenSerializer(token).data, status=status.HTTP_201_CREATED)


class AlgorithmViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = AlgorithmSerializer
    queryset = Algorithm.objects.filter(enabled=True, owner__isnull=True)
    lookup_field = "name"
    pagination_class = None


class DatasetViewSet(
    DatasetSourceActions,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.ReadOnlyModelViewSet,
):
    serializer_class = DatasetSerializer
    parser_classes = [MultiPartParser, FormParser]
    ordering_fields = ["created_at", "name", "rows", "size"]

    def get_queryset(self):
        return Dataset.objects.visible_to(self.request.user)

    @extend_schema(request=DatasetUploadSerializer, responses=DatasetSerializer)
    def create(self, request, *args, **kwargs):
        form = DatasetUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        truth = None
        if "truth" in form.validated_data:
            truth = graphs.parse_json(form.validated_data["truth"].read(), "truth")
        dataset, created = services.create_dataset(
            owner=request.user,
            upload=form.validated_data["file"],
            name=form.validated_data.get("name", ""),
            truth=truth,
        )
        return Response(
            DatasetSerializer(dataset).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    def perform_destroy(self, instance: Dataset) -> None:
        services.delete_dataset(instance)

    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        dataset = self.get_object()
        return FileResponse(
            dataset.file.open("rb"),
            as_attachment=True,
            filename=f"{dataset.name.removesuffix('.csv')}.csv",
            content_type="text/csv",
        )

    @extend_schema(responses={(200, "application/json"): OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def truth(self, request, pk=None):
        """The dataset's ground-truth graph.json (404 when it has none)."""
        dataset = self.get_object()
        if dataset.truth is None:
            return Response({"detail": "this dataset has no ground truth"}, status=404)
        return Response(dataset.truth)

    @extend_schema(
        parameters=[OpenApiParameter("rows", int, description=f"at most {PREVIEW_MAX_ROWS}")],
        responses=inline_serializer(
            "DatasetPreview",
            {
                "columns": serializers.ListField(child=serializers.CharField()),
                "rows": serializers.ListField(child=serializers.ListField()),
            },
        ),
    )
    @action(detail=True, methods=["get"])
    def preview(self, request, pk=None):
        """The header and the first rows of the CSV, as text."""
        dataset = self.get_object()
        try:
            limit = min(max(int(request.query_params.get("rows", 20)), 1), PREVIEW_MAX_ROWS)
        except ValueError:
            raise InvalidInput({"rows": ["must be an integer"]}) from None
        with dataset.file.open("rb") as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")
            reader = csv.reader(text)
            header = next(reader, [])
            rows = list(itertools.islice((row for row in reader if row), limit))
        return Response({"columns": header, "rows": rows})


class ExperimentViewSet(
    ExperimentManageMixin,
    SharingMixin,
    ExperimentResultsMixin,
    mixins.CreateModelMixin,
    viewsets.ReadOnlyModelViewSet,
):
    filterset_class = ExperimentFilter
    ordering_fields = ["created_at", "priority", "name"]

    def get_queryset(self):
        visible = (
            Experiment.objects.visible_to(self.request.user)
            .select_related("algorithm", "owner")
            .prefetch_related("shared_with", "tags")
        )
        if self.action == "list":
            visible = self.listed(visible)
        if self.action not in ("list", "create"):
            # One experiment: the serializer counts its jobs on the (experiment, status) index,
            # instead of a join over every job per status (a third of a second at 100,000).
            return visible
        # Default ordering is dropped from GROUP BY queries, so it is spelled out.
        return with_job_times(with_job_counts(visible)).order_by("-created_at", "-id")

    def get_serializer_class(self):
        return ExperimentCreateSerializer if self.action == "create" else ExperimentSerializer

    def listed(self, visible):
        """The list hides archived experiments unless ``?archived=true`` asks for those."""
        raw = self.request.query_params.get("archived", "false").lower()
        if raw not in ("true", "false"):
            raise InvalidInput({"archived": ["must be true or false"]})
        return visible.filter(archived_at__isnull=raw == "false")

    def retrieve_data(self, experiment: Experiment) -> dict:
        experiment.started_at, experiment.last_finished_at = job_times(experiment)
        return ExperimentSerializer(experiment).data

    def retrieve(self, request, *args, **kwargs):
        return Response(self.retrieve_data(self.get_object()))

    @extend_schema(request=ExperimentCreateSerializer, responses=ExperimentSerializer)
    def create(self, request, *args, **kwargs):
        form = ExperimentCreateSerializer(data=request.data, context={"request": request})
        form.is_valid(raise_exception=True)
        options = {**form.validated_data, "list_nodes": listed_nodes}
        if form.validated_data.get("artifact") is not None:
            experiment = submit_artifact_experiment(owner=request.user, **options)
        else:
            experiment = services.submit_experiment(owner=request.user, **options)
        experiment = self.get_queryset().get(pk=experiment.pk)
        return Response(ExperimentSerializer(experiment).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses=inline_serializer("CancelExperiment", {"cancelled": serializers.IntegerField()}),
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        affected = services.cancel_experiment(self.get_changeable_object())
        return Response({"cancelled": affected})

    @extend_schema(
        request=inline_serializer("MorePoints", {"jobs": serializers.IntegerField()}),
        responses=ExperimentSerializer,
    )
    @action(detail=True, methods=["post"], url_path="more")
    def more(self, request, pk=None):
        """More points for a search (docs/search.md): its max_jobs grows, a stopped one resumes."""
        body = request.data if isinstance(request.data, dict) else {}
        experiment = extend_search(
            self.get_changeable_object(), body.get("jobs"), settings.PETRI_MAX_GRID
        )
        experiment = self.get_queryset().get(pk=experiment.pk)
        experiment.started_at, experiment.last_finished_at = job_times(experiment)
        return Response(ExperimentSerializer(experiment).data)

    @extend_schema(responses={(200, "application/json"): OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def study(self, request, pk=None):
        """The search as a study: trials, best so far, parameter importance, Pareto front."""
        # Optuna is imported by the first request that reads a study, not by every server.
        from jobs.search.report import study_report

        return Response(study_report(self.get_object()))

    @extend_schema(
        request=None,
        responses=inline_serializer("RetryExperiment", {"retried": serializers.IntegerField()}),
    )
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        """Queue every failed job again, each as a new attempt (409 when none failed)."""
        return Response({"retried": services.retry_failed_jobs(self.get_changeable_object())})


class JobViewSet(ChangeableMixin, JobResultsMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = JobSerializer
    filterset_class = JobFilter
    # Metric ordering and filters (?ordering=-metrics__shd, ?metric=shd__lt:5): results.py.
    filter_backends = [DjangoFilterBackend, MetricOrderingFilter, MetricFilterBackend]
    ordering_fields = ["id", "index", "status", "created_at", "started_at", "finished_at"]

    def get_queryset(self):
        return Job.objects.visible_to(self.request.user).select_related("result")

    @extend_schema(request=None, responses=JobSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return Response(JobSerializer(services.cancel_job(self.get_changeable_object())).data)

    @extend_schema(request=None, responses=JobSerializer)
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        return Response(JobSerializer(services.retry_job(self.get_changeable_object())).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("after", int, description="cursor of the last read"),
            OpenApiParameter("attempt", int),
        ],
        responses=inline_serializer(
            "JobLog",
            {
                "lines": serializers.ListField(child=serializers.CharField()),
                "cursor": serializers.IntegerField(),
                "more": serializers.BooleanField(),
            },
        ),
    )
    @action(detail=True, methods=["get"])
    def log(self, request, pk=None):
        job = self.get_object()
        events = JobEvent.objects.filter(job=job, kind=JobEvent.Kind.LOG)
        after = int_query_param(request, "after", 0)
        if "attempt" in request.query_params:
            events = events.filter(attempt=int_query_param(request, "attempt", 0))
        page = list(events.filter(id__gt=after).order_by("id")[: LOG_EVENTS_PER_PAGE + 1])
        more = len(page) > LOG_EVENTS_PER_PAGE
        page = page[:LOG_EVENTS_PER_PAGE]
        lines = [line for event in page for line in event.data.get("lines", [])]
        return Response({"lines": lines, "cursor": page[-1].id if page else after, "more": more})

    @extend_schema(
        parameters=[OpenApiParameter("attempt", int)],
        responses=inline_serializer(
            "MetricPoint",
            {
                "name": serializers.CharField(),
                "value": serializers.FloatField(),
                "step": serializers.IntegerField(allow_null=True),
                "time": serializers.DateTimeField(),
                "attempt": serializers.IntegerField(),
            },
            many=True,
        ),
    )
    @action(detail=True, methods=["get"])
    def metrics(self, request, pk=None):
        """Every metric point the job reported while running, oldest first."""
        job = self.get_object()
        events = JobEvent.objects.filter(job=job, kind=JobEvent.Kind.METRIC).order_by("id")
        if "attempt" in request.query_params:
            events = events.filter(attempt=int_query_param(request, "attempt", 0))
        points = [
            {
                "name": event.data.get("name"),
                "value": event.data.get("value"),
                "step": event.data.get("step"),
                "time": event.time,
                "attempt": event.attempt,
            }
            for event in events[:METRIC_POINTS_MAX]
        ]
        return Response(points)

    @extend_schema(responses=OutputFileSerializer(many=True))
    @action(detail=True, methods=["get"])
    def files(self, request, pk=None):
        job = self.get_object()
        outputs = OutputFile.objects.filter(job=job, attempt=job.attempt)
        return Response(OutputFileSerializer(outputs, many=True).data)

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def file(self, request, pk=None, name=None):
        """One output file; routed in urls.py since file names take no trailing slash."""
        job = self.get_object()
        output = get_object_or_404(OutputFile, job=job, attempt=job.attempt, name=name)
        return FileResponse(
            output.file.open("rb"), as_attachment=True, filename=output.name.rsplit("/", 1)[-1]
        )
