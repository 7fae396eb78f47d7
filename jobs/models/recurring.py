"""Recurring runs: an experiment run again on a clock, by a django-celery-beat schedule."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from jobs.models.pipelines import Pipeline
from jobs.models.queue import Experiment


class RecurringRun(models.Model):
    """A user's schedule: each firing of ``periodic_task`` submits ``experiment`` (or
    ``pipeline``) again."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    experiment = models.ForeignKey(
        Experiment,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="recurring_runs",
        help_text="the template: each firing submits a copy of it",
    )
    pipeline = models.ForeignKey(
        Pipeline,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="recurring_runs",
        help_text="or a pipeline: each firing submits its spec again",
    )
    # Beat's row: its schedule (crontab or interval) and its enabled flag are the truth.
    periodic_task = models.OneToOneField(
        PeriodicTask, on_delete=models.CASCADE, related_name="recurring_run"
    )
    newest_datasets = models.BooleanField(
        default=False, help_text="re-query an SQL dataset before each run; uploads keep theirs"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(experiment__isnull=False, pipeline__isnull=True)
                | Q(experiment__isnull=True, pipeline__isnull=False),
                name="recurring_run_of_an_experiment_or_a_pipeline",
            )
        ]

    def __str__(self) -> str:
        what = (
            f"experiment {self.experiment_id}"
            if self.experiment_id
            else f"pipeline {self.pipeline_id}"
        )
        return f"recurring run {self.pk} of {what}"


class RecurringFiring(models.Model):
    """One firing of a recurring run: the run it made, or why it was skipped.

    ``slot`` is the due time the firing answers; one row per slot is what makes a firing
    idempotent when a task is delivered twice or two beats were started by mistake.
    """

    recurring_run = models.ForeignKey(
        RecurringRun, on_delete=models.CASCADE, related_name="firings"
    )
    slot = models.DateTimeField()
    fired_at = models.DateTimeField(default=timezone.now)
    experiment = models.ForeignKey(
        Experiment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    pipeline = models.ForeignKey(
        Pipeline, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    skipped = models.CharField(max_length=200, blank=True, help_text="why no run was made")

    class Meta:
        ordering = ["-slot"]
        constraints = [
            models.UniqueConstraint(fields=["recurring_run", "slot"], name="one_firing_per_slot")
        ]

    def __str__(self) -> str:
        return f"firing of recurring run {self.recurring_run_id} at {self.slot:%Y-%m-%d %H:%M:%S}"
