"""Pipelines: a DAG of stages, each an experiment template run once its upstream is done."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from jobs.models.catalog import Algorithm, Dataset
from jobs.querysets import OwnedQuerySet


class PipelineStatus(models.TextChoices):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class StageStatus(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


FINAL_STAGE_STATUSES = (
    StageStatus.SUCCEEDED,
    StageStatus.FAILED,
    StageStatus.SKIPPED,
    StageStatus.CANCELLED,
)


class Pipeline(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    name = models.CharField(max_length=200, blank=True)
    spec = models.JSONField(default=dict, help_text="the pipeline as submitted")
    status = models.CharField(
        max_length=12, choices=PipelineStatus.choices, default=PipelineStatus.RUNNING
    )
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = OwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name or f"pipeline {self.pk}"


class Stage(models.Model):
    class Kind(models.TextChoices):
        EXPERIMENT = "experiment"
        COMPARE = "compare"

    class OnFailure(models.TextChoices):
        STOP = "stop"
        CONTINUE = "continue"

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=63)
    position = models.PositiveIntegerField(help_text="order in the spec (a topological order)")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.EXPERIMENT)
    algorithm = models.ForeignKey(Algorithm, null=True, blank=True, on_delete=models.PROTECT)
    dataset = models.ForeignKey(Dataset, null=True, blank=True, on_delete=models.PROTECT)
    # The experiment template: parameters, repeats, resources... as submit_experiment takes.
    template = models.JSONField(default=dict, blank=True)
    # {"dataset": {"stage", "file"}, "parameters": {"stage"}}: what it takes from upstream.
    inputs = models.JSONField(default=dict, blank=True)
    needs = models.JSONField(default=list, blank=True, help_text="every upstream stage's name")
    on_failure = models.CharField(max_length=10, choices=OnFailure.choices, default="stop")
    status = models.CharField(
        max_length=12, choices=StageStatus.choices, default=StageStatus.PENDING
    )
    error = models.TextField(blank=True)
    result = models.JSONField(null=True, blank=True, help_text="a compare stage's table")
    # A retried stage's earlier experiments: kept, but no longer feeding the stages after it.
    previous_experiments = models.JSONField(default=list, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pipeline_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "name"], name="stage_unique_per_pipeline")
        ]

    def __str__(self) -> str:
        return f"stage {self.name} of pipeline {self.pipeline_id}"
