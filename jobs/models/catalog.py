"""What jobs run and read: algorithms, uploaded code, datasets and their sources."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from jobs.models.enums import DatasetInput
from jobs.querysets import OwnedQuerySet


class Algorithm(models.Model):
    name = models.SlugField(max_length=100, unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    language = models.CharField(max_length=40, default="python")
    entrypoint = models.JSONField(help_text="argv run in the algorithm's working directory")
    image = models.CharField(max_length=300, blank=True)
    backend = models.CharField(
        max_length=40, blank=True, help_text="where its jobs run; empty: PETRI_BACKEND"
    )
    dataset_input = models.CharField(
        max_length=10, choices=DatasetInput.choices, default=DatasetInput.NONE
    )
    resources = models.JSONField(default=dict, blank=True)
    # A list of {"name", "type", "default", ...} so order survives jsonb, which reorders keys.
    parameters = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)
    synced_at = models.DateTimeField(default=timezone.now)
    produces = models.CharField(
        max_length=20,
        blank=True,
        choices=[("dataset", "dataset")],
        help_text="'dataset': a succeeded job's data.csv and graph.json become a new dataset",
    )
    # Set for code a user uploaded (an artifact run with its own entrypoint and schema);
    # such algorithms are the owner's, never in the shared catalog.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="own_algorithms",
    )
    artifact = models.ForeignKey(
        "Artifact", null=True, blank=True, on_delete=models.PROTECT, related_name="algorithms"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def parameter_schema(self) -> dict[str, dict]:
        return {spec["name"]: spec for spec in self.parameters}


class Artifact(models.Model):
    """Uploaded code (zip or tar.gz), stored once per owner and content hash."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    name = models.CharField(max_length=200)
    file = models.FileField(upload_to="artifacts/%Y/%m/")
    sha256 = models.CharField(max_length=64)
    size = models.BigIntegerField()
    kind = models.CharField(max_length=10, choices=[("zip", "zip"), ("tar.gz", "tar.gz")])
    created_at = models.DateTimeField(default=timezone.now)

    objects = OwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "sha256"], name="artifact_unique_per_owner")
        ]

    def __str__(self) -> str:
        return self.name


class RemoteDatabase(models.Model):
    """A database operators register so users can define datasets as SQL queries on it."""

    class Engine(models.TextChoices):
        POSTGRESQL = "postgresql"
        MYSQL = "mysql"

    name = models.SlugField(max_length=100, unique=True)
    engine = models.CharField(max_length=20, choices=Engine.choices)
    host = models.CharField(max_length=200)
    port = models.PositiveIntegerField()
    database = models.CharField(max_length=200)
    user = models.CharField(max_length=200)
    password = models.CharField(max_length=500, blank=True)
    row_cap = models.PositiveIntegerField(default=1_000_000)
    statement_timeout = models.PositiveIntegerField(default=60, help_text="seconds")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Dataset(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    name = models.CharField(max_length=200)
    file = models.FileField(upload_to="datasets/%Y/%m/")
    sha256 = models.CharField(max_length=64)
    size = models.BigIntegerField()
    columns = models.JSONField(default=list, blank=True)
    rows = models.BigIntegerField(default=0)
    truth = models.JSONField(null=True, blank=True, help_text="ground-truth graph.json")
    created_at = models.DateTimeField(default=timezone.now)
    # A dataset loaded by SQL from a remote database: re-loading it makes a new version.
    source_database = models.ForeignKey(
        "RemoteDatabase", null=True, blank=True, on_delete=models.PROTECT, related_name="datasets"
    )
    query = models.TextField(blank=True)
    loaded_at = models.DateTimeField(null=True, blank=True)
    load_seconds = models.FloatField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    previous = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="next_versions"
    )
    generated_by = models.ForeignKey(
        "Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="generated_datasets"
    )

    objects = OwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "sha256"], name="dataset_unique_per_owner")
        ]

    def __str__(self) -> str:
        return self.name
