"""The runner API: what a job attempt may call with its per-attempt token, and nothing more."""

from __future__ import annotations

import base64
import binascii

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import FileResponse, Http404
from drf_spectacular.utils import extend_schema
from rest_framework import authentication, exceptions, permissions, serializers, status
from rest_framework.parsers import FileUploadParser
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs import services
from jobs.errors import InvalidInput
from jobs.models import RUNNER_REASONS, Job
from jobs.services.outputs import GRAPH_FILE, clean_output_name
from jobs.validators import FLOAT_LIMIT, INT32_MAX, INT64_MAX
from webapp.api.fields import MetricsField


class RunnerTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <token>``; ``request.auth`` becomes the token's job."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode(errors="replace").split()
        if len(header) != 2 or header[0].lower() != "bearer":
            raise exceptions.NotAuthenticated("runner calls need 'Authorization: Bearer <token>'")
        job = services.job_for_runner_token(header[1])
        if job is None:
            raise exceptions.AuthenticationFailed("this token's attempt is over or unknown")
        return AnonymousUser(), job

    def authenticate_header(self, request):
        return "Bearer"


class HasRunnerJob(permissions.BasePermission):
    def has_permission(self, request, view):
        return isinstance(request.auth, Job)


class RunnerView(APIView):
    authentication_classes = [RunnerTokenAuthentication]
    permission_classes = [HasRunnerJob]


class RunnerJobView(RunnerView):
    @extend_schema(responses=dict)
    def get(self, request):
        return Response(services.runner_spec(request.auth))


class RunnerDatasetView(RunnerView):
    @extend_schema(responses={(200, "text/csv"): bytes})
    def get(self, request):
        dataset = request.auth.experiment.dataset
        if dataset is None:
            raise Http404("this job has no dataset")
        return FileResponse(dataset.file.open("rb"), content_type="text/csv")


class RunnerTruthView(RunnerView):
    @extend_schema(responses=dict)
    def get(self, request):
        dataset = request.auth.experiment.dataset
        if dataset is None or dataset.truth is None:
            raise Http404("this job's dataset has no ground truth")
        return Response(dataset.truth)


class RunnerArtifactView(RunnerView):
    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def get(self, request):
        artifact = request.auth.experiment.algorithm.artifact
        if artifact is None:
            raise Http404("this job's algorithm is not uploaded code")
        return FileResponse(artifact.file.open("rb"), content_type="application/octet-stream")


class EventSerializer(serializers.Serializer):
    type = serializers.ChoiceField(["started", "progress", "log", "metric", "heartbeat"])
    time = serializers.DateTimeField(required=False)
    # Any finite number for a metric (a log-likelihood is negative); 0..1 for progress.
    value = serializers.FloatField(required=False, min_value=-FLOAT_LIMIT, max_value=FLOAT_LIMIT)
    lines = serializers.ListField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False),
        required=False,
        max_length=10_000,
    )
    name = serializers.CharField(required=False, max_length=200)
    step = serializers.IntegerField(
        required=False, allow_null=True, min_value=-INT64_MAX, max_value=INT64_MAX
    )

    def validate(self, attrs):
        needs = {"progress": ["value"], "log": ["lines"], "metric": ["name", "value"]}
        missing = [key for key in needs.get(attrs["type"], []) if key not in attrs]
        if missing:
            raise serializers.ValidationError(
                {key: "required for this event type" for key in missing}
            )
        if attrs["type"] == "progress":
            if attrs["value"] < 0:
                raise serializers.ValidationError({"value": "progress must be 0 or more"})
            attrs["value"] = min(attrs["value"], 1.0)
        return attrs


class EventBatchSerializer(serializers.Serializer):
    events = EventSerializer(many=True, allow_empty=True, max_length=5000)


class RunnerEventsView(RunnerView):
    @extend_schema(request=EventBatchSerializer, responses=dict)
    def post(self, request):
        batch = EventBatchSerializer(data=request.data)
        batch.is_valid(raise_exception=True)
        job: Job = request.auth
        accepted = services.record_events(job.pk, job.attempt, batch.validated_data["events"])
        return Response({"accepted": accepted})


class RunnerFileView(RunnerView):
    parser_classes = [FileUploadParser]

    @extend_schema(request={"application/octet-stream": bytes}, responses=dict)
    def put(self, request, filename: str):
        upload = request.data.get("file")
        if upload is None:
            raise exceptions.ParseError("the request body is the file's content")
        limit = settings.PETRI_MAX_UPLOAD_MB * 1024 * 1024
        if upload.size > limit:
            return Response(
                {"file": [f"is larger than {settings.PETRI_MAX_UPLOAD_MB} MB"]},
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        output = services.store_output_file(request.auth, filename, upload, upload.size)
        return Response({"name": output.name, "size": output.size}, status=status.HTTP_201_CREATED)


class InlineFileSerializer(serializers.Serializer):
    """A small output file sent inside the result: its name and base64 content."""

    name = serializers.CharField(max_length=1000)
    content = serializers.CharField(allow_blank=True, trim_whitespace=False)

    def validate_name(self, value: str) -> str:
        try:
            return clean_output_name(value)
        except InvalidInput:
            message = f"{value[:100]!r} is not a relative file name"
            raise serializers.ValidationError(message) from None

    def validate_content(self, value: str) -> bytes:
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise serializers.ValidationError("must be base64") from None


class ResultSerializer(serializers.Serializer):
    status = serializers.ChoiceField(["succeeded", "failed"])
    # The runner's last batch of events and its small output files, stored before the result.
    events = EventSerializer(many=True, required=False, max_length=5000)
    files = InlineFileSerializer(many=True, required=False, max_length=1000)
    exit_code = serializers.IntegerField(
        required=False, allow_null=True, min_value=-INT32_MAX - 1, max_value=INT32_MAX
    )
    metrics = MetricsField(required=False, default=dict)
    error = serializers.CharField(required=False, allow_blank=True, allow_null=True, default="")
    failure_reason = serializers.ChoiceField(
        [reason.value for reason in RUNNER_REASONS],
        required=False,
        allow_null=True,
    )


class RunnerResultView(RunnerView):
    @extend_schema(request=ResultSerializer, responses=dict)
    def post(self, request):
        form = ResultSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        job: Job = request.auth
        # All or nothing: a refused file (a bad graph.json, stored first) leaves no event behind.
        files = sorted(data.get("files") or [], key=lambda f: f["name"] != GRAPH_FILE)
        job = services.report_result(
            job.pk,
            job.attempt,
            events=data.get("events") or [],
            files=[(inline["name"], inline["content"]) for inline in files],
            succeeded=data["status"] == "succeeded",
            metrics=data["metrics"],
            exit_code=data.get("exit_code"),
            error=(data.get("error") or "")[-20_000:],
            failure_reason=data.get("failure_reason") or "",
        )
        return Response({"job": job.pk, "status": job.status, "attempt": job.attempt})
