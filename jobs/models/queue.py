"""Experiments and the relational job queue, with what jobs report back."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from jobs.models.catalog import Algorithm, Dataset
from jobs.models.enums import (
    BACKEND_STATUSES,
    FINAL_STATUSES,
    FailureReason,
    JobStatus,
    StopReason,
    Strategy,
)
from jobs.querysets import OwnedQuerySet


class Experiment(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    name = models.CharField(max_length=200, blank=True)
    algorithm = models.ForeignKey(Algorithm, on_delete=models.PROTECT)
    dataset = models.ForeignKey(Dataset, null=True, blank=True, on_delete=models.PROTECT)
    parameters = models.JSONField(default=dict, blank=True, help_text="the sweep as submitted")
    repeats = models.PositiveIntegerField(default=1)
    priority = models.IntegerField(default=0)
    resources = models.JSONField(default=dict, blank=True)
    backend = models.CharField(max_length=40, blank=True, help_text="the backend its jobs run on")
    max_attempts = models.PositiveIntegerField(default=3)
    retry_algorithm_errors = models.BooleanField(default=False)
    timeout = models.PositiveIntegerField(null=True, blank=True, help_text="seconds per job")
    job_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    # The metric that ranks jobs (summary, best job in the notification) and its direction.
    objective = models.CharField(max_length=100, blank=True)
    objective_order = models.CharField(
        max_length=4, choices=[("min", "min"), ("max", "max")], default="max"
    )
    shared_with = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="shared_experiments",
        help_text="users who may read (not change) this experiment",
    )
    # Set once, by whichever process first sees the experiment end: one e-mail, ever.
    notified_at = models.DateTimeField(null=True, blank=True)
    # What retention took away: its counts and times still belong to the experiment's own.
    pruned_succeeded = models.PositiveIntegerField(default=0)
    pruned_failed = models.PositiveIntegerField(default=0)
    pruned_cancelled = models.PositiveIntegerField(default=0)
    pruned_started_at = models.DateTimeField(null=True, blank=True)
    pruned_finished_at = models.DateTimeField(null=True, blank=True)
    # The pipeline stage that submitted it, if any (jobs/services/pipelines.py).
    pipeline_stage = models.ForeignKey(
        "Stage", null=True, blank=True, on_delete=models.SET_NULL, related_name="experiments"
    )
    # What its owner keeps about it: free notes, and when it was archived (off the default list).
    notes = models.TextField(blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    # Retention's count of jobs that ended ``pruned`` (by a search's pruner): named like its
    # siblings so every final status has its ``pruned_<status>`` field.
    pruned_pruned = models.PositiveIntegerField(default=0)

    # Searches (docs/search.md): the strategy, the budgets and why it stopped.
    strategy = models.CharField(max_length=12, choices=Strategy.choices, default=Strategy.GRID)
    max_jobs = models.PositiveIntegerField(null=True, blank=True)
    parallelism = models.PositiveIntegerField(null=True, blank=True, help_text="live jobs at most")
    max_failed = models.PositiveIntegerField(null=True, blank=True)
    goal = models.FloatField(null=True, blank=True, help_text="stop once the objective reaches it")
    max_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text="wall-clock budget from submission"
    )
    seed = models.BigIntegerField(null=True, blank=True)
    # {"type": "median"|"successive_halving"|"hyperband", "metric", "order", ...}; {} for none.
    pruner = models.JSONField(default=dict, blank=True)
    # Multi-objective searches: [{"name", "order"}, ...]; empty means ``objective`` alone.
    objectives = models.JSONField(default=list, blank=True)
    # The sampler's own notes (Optuna's study and trial system attributes), kept between ticks.
    search_state = models.JSONField(default=dict, blank=True)
    stop_reason = models.CharField(max_length=20, choices=StopReason.choices, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)

    objects = OwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name or f"experiment {self.pk}"


class ExperimentTag(models.Model):
    """One label on an experiment; a row of its own so the list filters by it on any database."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=50)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["experiment", "name"], name="experimenttag_unique")
        ]
        indexes = [models.Index(fields=["name", "experiment"], name="experimenttag_name")]

    def __str__(self) -> str:
        return self.name


class Job(models.Model):
    # No single-column indexes on these two: every status change rewrites each index of a
    # job row, and (experiment, status) and the queue indexes already serve their look-ups.
    experiment = models.ForeignKey(
        Experiment, on_delete=models.CASCADE, related_name="jobs", db_index=False
    )
    # Copied from the experiment so the claim query needs no join.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, db_index=False)
    priority = models.IntegerField(default=0)
    index = models.PositiveIntegerField(help_text="position in the grid")
    repeat = models.PositiveIntegerField(default=0)
    parameters = models.JSONField(default=dict)

    status = models.CharField(max_length=12, choices=JobStatus.choices, default=JobStatus.WAITING)
    attempt = models.PositiveIntegerField(default=1)
    max_attempts = models.PositiveIntegerField(default=3)
    not_before = models.DateTimeField(default=timezone.now)
    progress = models.FloatField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True)

    scheduler = models.CharField(max_length=200, blank=True, help_text="scheduler that claimed it")
    backend = models.CharField(max_length=40, blank=True)
    handle = models.CharField(max_length=63, blank=True)
    runner_token_hash = models.CharField(max_length=64, blank=True)

    failure_reason = models.CharField(max_length=20, choices=FailureReason.choices, blank=True)
    error = models.TextField(blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    wait_reason = models.CharField(
        max_length=100, blank=True, help_text="why a waiting job is not claimed, e.g. 'GPU quota'"
    )

    objects = OwnedQuerySet.as_manager()

    class Meta:
        ordering = ["experiment_id", "index", "repeat"]
        indexes = [
            # Partial indexes: their size follows the queue, never the history of finished
            # jobs, so claiming costs the same with a million finished rows as with none.
            models.Index(
                fields=["owner", "-priority", "id"],
                condition=Q(status="waiting"),
                name="job_waiting_queue",
            ),
            models.Index(
                fields=["status", "owner"],
                condition=Q(status__in=[s.value for s in BACKEND_STATUSES]),
                name="job_active",
            ),
            models.Index(
                fields=["finished_at"],
                condition=Q(status__in=[s.value for s in FINAL_STATUSES]),
                name="job_finished",
            ),
            models.Index(fields=["experiment", "status"], name="job_experiment_status"),
        ]

    def __str__(self) -> str:
        return f"job {self.pk} ({self.status})"


class JobEvent(models.Model):
    class Kind(models.TextChoices):
        LOG = "log"
        METRIC = "metric"
        STATUS = "status"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="events")
    attempt = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    time = models.DateTimeField(default=timezone.now)
    data = models.JSONField(default=dict)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["job", "kind", "id"], name="jobevent_job_kind")]

    def __str__(self) -> str:
        return f"{self.kind} event of job {self.job_id}"


class Result(models.Model):
    """The outcome of a job's last attempt; it outlives the job's queue row (retention)."""

    job = models.OneToOneField(
        Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="result"
    )
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="results")
    parameters = models.JSONField(default=dict)
    index = models.PositiveIntegerField(default=0)
    repeat = models.PositiveIntegerField(default=0)
    attempt = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=JobStatus.choices)
    metrics = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"result of job {self.job_id}"


class OutputFile(models.Model):
    job = models.ForeignKey(
        Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="files"
    )
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="files")
    attempt = models.PositiveIntegerField()
    name = models.CharField(max_length=500)
    file = models.FileField(upload_to="outputs/%Y/%m/", max_length=500)
    size = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["job", "attempt", "name"], name="outputfile_unique_per_attempt"
            )
        ]

    def __str__(self) -> str:
        return self.name
