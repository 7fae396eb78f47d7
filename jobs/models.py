"""The domain: algorithms, datasets, experiments, and the relational job queue."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from jobs.querysets import OwnedQuerySet


class JobStatus(models.TextChoices):
    WAITING = "waiting"
    DISPATCHING = "dispatching"
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"


FINAL_STATUSES = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)
# Statuses in which a runner holds a live attempt and may call the runner API.
RUNNER_STATUSES = (JobStatus.DISPATCHING, JobStatus.PENDING, JobStatus.RUNNING)
# Statuses the backend must know about (a process or Kubernetes Job may exist).
BACKEND_STATUSES = (*RUNNER_STATUSES, JobStatus.CANCELLING)


class FailureReason(models.TextChoices):
    UNSCHEDULABLE = "unschedulable"
    IMAGE_NOT_FOUND = "image_not_found"
    OOM_KILLED = "oom_killed"
    DEADLINE_EXCEEDED = "deadline_exceeded"
    LOST = "lost"
    ALGORITHM_ERROR = "algorithm_error"
    BACKEND_ERROR = "backend_error"
    CANCELLED = "cancelled"


class DatasetInput(models.TextChoices):
    REQUIRED = "required"
    OPTIONAL = "optional"
    NONE = "none"


class Algorithm(models.Model):
    name = models.SlugField(max_length=100, unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    language = models.CharField(max_length=40, default="python")
    entrypoint = models.JSONField(help_text="argv run in the algorithm's working directory")
    image = models.CharField(max_length=300, blank=True)
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


class Experiment(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    name = models.CharField(max_length=200, blank=True)
    algorithm = models.ForeignKey(Algorithm, on_delete=models.PROTECT)
    dataset = models.ForeignKey(Dataset, null=True, blank=True, on_delete=models.PROTECT)
    parameters = models.JSONField(default=dict, blank=True, help_text="the sweep as submitted")
    repeats = models.PositiveIntegerField(default=1)
    priority = models.IntegerField(default=0)
    resources = models.JSONField(default=dict, blank=True)
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

    objects = OwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name or f"experiment {self.pk}"


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

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


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


class Quota(models.Model):
    """Limits for one user or one group, set by operators; empty fields mean no limit here.

    A user is bound by their own quota and by every group quota they fall under.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="quota",
    )
    group = models.OneToOneField(
        "auth.Group", null=True, blank=True, on_delete=models.CASCADE, related_name="quota"
    )
    max_running = models.PositiveIntegerField(
        null=True, blank=True, help_text="jobs at once; empty: PETRI_USER_MAX_RUNNING for users"
    )
    max_cpu = models.FloatField(null=True, blank=True, help_text="CPU cores at once")
    max_gpu = models.PositiveIntegerField(null=True, blank=True, help_text="GPUs at once")
    cpu_hours_per_month = models.FloatField(null=True, blank=True)
    gpu_hours_per_month = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, group__isnull=True)
                | Q(user__isnull=True, group__isnull=False),
                name="quota_for_user_or_group",
            )
        ]

    def __str__(self) -> str:
        return f"quota of {self.user or self.group}"


class UsageRecord(models.Model):
    """What one finished attempt used: resources requested times run time."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL)
    experiment = models.ForeignKey(Experiment, null=True, blank=True, on_delete=models.SET_NULL)
    attempt = models.PositiveIntegerField()
    month = models.DateField(help_text="first day of the month the attempt finished in")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    seconds = models.FloatField()
    cpu = models.FloatField()
    gpu = models.PositiveIntegerField(default=0)
    memory_gb = models.FloatField()
    cpu_seconds = models.FloatField()
    gpu_seconds = models.FloatField()
    memory_gb_seconds = models.FloatField()

    class Meta:
        indexes = [models.Index(fields=["user", "month"], name="usage_user_month")]
        constraints = [
            models.UniqueConstraint(fields=["job", "attempt"], name="usage_once_per_attempt")
        ]

    def __str__(self) -> str:
        return f"usage of {self.user} for job {self.job_id}/{self.attempt}"


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
