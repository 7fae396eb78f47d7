"""The job's statuses, failure reasons and input kinds."""

from __future__ import annotations

from django.db import models


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
    # The backend refused the attempt for good (forbidden, invalid): retrying cannot help.
    BACKEND_REFUSED = "backend_refused"
    # The pod never started (a config or container error, a pull that kept failing).
    START_FAILED = "start_failed"
    CANCELLED = "cancelled"


class DatasetInput(models.TextChoices):
    REQUIRED = "required"
    OPTIONAL = "optional"
    NONE = "none"
