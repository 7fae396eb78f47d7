"""The users' API: thin viewsets that validate, call jobs.services and render."""

from __future__ import annotations

import json

from django.contrib.auth import authenticate
from django.db import connection
from django.http import FileResponse, JsonResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs import services
from jobs.errors import InvalidInput
from jobs.models import Algorithm, Dataset, Experiment, Job, JobEvent, OutputFile
from jobs.status import with_job_counts
from webapp.accounts.tokens import issue_token
from webapp.api.filters import ExperimentFilter, JobFilter
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

LOG_EVENTS_PER_PAGE = 200


def healthz(request):
    """Liveness and readiness in one: the process answers and the database does too."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


class ObtainTokenView(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes = []

    @extend_schema(
        request=TokenRequestSerializer,
        responses=inline_serializer("Token", {"token": serializers.CharField()}),
    )
    def post(self, request):
        form = TokenRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        user = authenticate(
            request,
            username=form.validated_data["username"],
            password=form.validated_data["password"],
        )
        if user is None:
            return Response(
                {"detail": "wrong username or password"}, status=status.HTTP_400_BAD_REQUEST
            )
        _, key = issue_token(user, form.validated_data["name"])
        return Response({"token": key}, status=status.HTTP_201_CREATED)


class AlgorithmViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = AlgorithmSerializer
    queryset = Algorithm.objects.filter(enabled=True)
    lookup_field = "name"
    pagination_class = None


class DatasetViewSet(
    mixins.CreateModelMixin, mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet
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
            try:
                truth = json.load(form.validated_data["truth"])
            except (ValueError, UnicodeDecodeError):
                raise InvalidInput({"truth": ["is not a JSON document"]}) from None
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

    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        dataset = self.get_object()
        return FileResponse(
            dataset.file.open("rb"),
            as_attachment=True,
            filename=f"{dataset.name.removesuffix('.csv')}.csv",
            content_type="text/csv",
        )


class ExperimentViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    filterset_class = ExperimentFilter
    ordering_fields = ["created_at", "priority", "name"]

    def get_queryset(self):
        visible = Experiment.objects.visible_to(self.request.user).select_related("algorithm")
        # Default ordering is dropped from GROUP BY queries, so it is spelled out.
        return with_job_counts(visible).order_by("-created_at", "-id")

    def get_serializer_class(self):
        return ExperimentCreateSerializer if self.action == "create" else ExperimentSerializer

    @extend_schema(request=ExperimentCreateSerializer, responses=ExperimentSerializer)
    def create(self, request, *args, **kwargs):
        form = ExperimentCreateSerializer(data=request.data, context={"request": request})
        form.is_valid(raise_exception=True)
        experiment = services.submit_experiment(owner=request.user, **form.validated_data)
        experiment = self.get_queryset().get(pk=experiment.pk)
        return Response(ExperimentSerializer(experiment).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses=inline_serializer("CancelExperiment", {"cancelled": serializers.IntegerField()}),
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        affected = services.cancel_experiment(self.get_object())
        return Response({"cancelled": affected})


class JobViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = JobSerializer
    filterset_class = JobFilter
    ordering_fields = ["id", "index", "status", "created_at", "started_at", "finished_at"]

    def get_queryset(self):
        return Job.objects.visible_to(self.request.user).select_related("result")

    @extend_schema(request=None, responses=JobSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return Response(JobSerializer(services.cancel_job(self.get_object())).data)

    @extend_schema(request=None, responses=JobSerializer)
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        return Response(JobSerializer(services.retry_job(self.get_object())).data)

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
        try:
            after = int(request.query_params.get("after", 0))
            if "attempt" in request.query_params:
                events = events.filter(attempt=int(request.query_params["attempt"]))
        except ValueError:
            raise InvalidInput({"after": ["must be an integer"]}) from None
        page = list(events.filter(id__gt=after).order_by("id")[: LOG_EVENTS_PER_PAGE + 1])
        more = len(page) > LOG_EVENTS_PER_PAGE
        page = page[:LOG_EVENTS_PER_PAGE]
        lines = [line for event in page for line in event.data.get("lines", [])]
        return Response({"lines": lines, "cursor": page[-1].id if page else after, "more": more})

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
