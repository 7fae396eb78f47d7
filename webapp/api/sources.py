"""Where datasets and code come from: remote databases, SQL-defined datasets, artifacts."""

from __future__ import annotations

from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from jobs.errors import InvalidInput
from jobs.models import Artifact, RemoteDatabase
from jobs.services.artifacts import create_artifact, delete_artifact
from jobs.services.remote import load_query_dataset, reload_dataset
from webapp.api.parsers import BoundedJSONParser


class RemoteDatabaseSerializer(serializers.ModelSerializer):
    """What users may know of a registered database: never where it is or how to log in."""

    class Meta:
        model = RemoteDatabase
        fields = ["name", "engine", "row_cap", "statement_timeout"]


class DatabaseViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = RemoteDatabaseSerializer
    queryset = RemoteDatabase.objects.filter(enabled=True)
    lookup_field = "name"
    pagination_class = None


class DatasetQuerySerializer(serializers.Serializer):
    database = serializers.SlugRelatedField(
        slug_field="name", queryset=RemoteDatabase.objects.filter(enabled=True)
    )
    query = serializers.CharField(
        trim_whitespace=False, help_text="one SQL statement, run read-only"
    )
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)


class DatasetSourceActions:
    """``POST /api/datasets/query/`` and ``POST /api/datasets/<id>/reload/`` (a mixin)."""

    def _answer(self, dataset, created: bool) -> Response:
        body = self.get_serializer_class()(dataset).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(request=DatasetQuerySerializer)
    @action(detail=False, methods=["post"], parser_classes=[BoundedJSONParser, FormParser])
    def query(self, request):
        """Define a dataset as a read-only SQL query on a registered database."""
        form = DatasetQuerySerializer(data=request.data)
        form.is_valid(raise_exception=True)
        dataset, created = load_query_dataset(
            owner=request.user,
            database=form.validated_data["database"],
            query=form.validated_data["query"],
            name=form.validated_data.get("name", ""),
        )
        return self._answer(dataset, created)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"], parser_classes=[BoundedJSONParser, FormParser])
    def reload(self, request, pk=None):
        """Run the query again: the same dataset when unchanged, else a new version (201)."""
        dataset = self.get_object()
        if dataset.owner_id != request.user.pk:
            raise InvalidInput({"dataset": ["only its owner may reload it"]})
        dataset, created = reload_dataset(dataset)
        return self._answer(dataset, created)


class ArtifactSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Artifact
        fields = ["id", "name", "sha256", "size", "kind", "created_at", "download_url"]

    def get_download_url(self, obj: Artifact) -> str:
        return reverse("artifact-download", args=[obj.pk])


class ArtifactUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="a zip or tar.gz of code")
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)


class ArtifactViewSet(
    mixins.CreateModelMixin, mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet
):
    serializer_class = ArtifactSerializer
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self):
        return Artifact.objects.visible_to(self.request.user)

    @extend_schema(request=ArtifactUploadSerializer, responses=ArtifactSerializer)
    def create(self, request, *args, **kwargs):
        form = ArtifactUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        artifact, created = create_artifact(
            owner=request.user,
            upload=form.validated_data["file"],
            name=form.validated_data.get("name", ""),
        )
        return Response(
            ArtifactSerializer(artifact).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    def perform_destroy(self, instance: Artifact) -> None:
        delete_artifact(instance)

    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        artifact = self.get_object()
        return FileResponse(
            artifact.file.open("rb"),
            as_attachment=True,
            filename=f"{artifact.name.removesuffix('.' + artifact.kind) or 'code'}.{artifact.kind}",
        )
