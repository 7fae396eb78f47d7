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
    # Stopped early by a search's pruner: a final state that is neither success nor failure.
    PRUNED = "pruned"


FINAL_STATUSES = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.PRUNED)
# Statuses in which a runner holds a live attempt and may call the runner API.
RUNNER_STATUSES = (JobStatus.DISPATCHING, JobStatus.PENDING, JobStatus.RUNNING)
# Statuses the backend must know about (a process or Kubernetes Job may exist).
BACKEND_STATUSES = (*RUNNER_STATUSES, JobStatus.CANCELLING)


class FailureReason(models.TextChoices):
    """Why an attempt ended without success: the one list (docs/architecture.md, "Failures").

    The runner cannot import this; the values it sends (petri_runner/result.py's ``REASONS``)
    are checked against it by jobs/tests/test_failure_contract.py.
    """

    UNSCHEDULABLE = "unschedulable"
    IMAGE_NOT_FOUND = "image_not_found"
    OOM_KILLED = "oom_killed"
    DEADLINE_EXCEEDED = "deadline_exceeded"
    LOST = "lost"
    EVICTED = "evicted"
    ALGORITHM_ERROR = "algorithm_error"
    BACKEND_ERROR = "backend_error"
    # The backend refused the attempt for good (forbidden, invalid): retrying cannot help.
    BACKEND_REFUSED = "backend_refused"
    # The pod never started (a config or container error, a pull that kept failing).
    START_FAILED = "start_failed"
    CANCELLED = "cancelled"
    # A pruner stopped it (its status becomes ``pruned``, not ``failed``); never retried.
    PRUNED = "pruned"


# Reasons that are the infrastructure's fault: the attempt is retried while attempts remain.
RETRYABLE_REASONS = frozenset(
    {
        FailureReason.LOST,
        FailureReason.UNSCHEDULABLE,
        FailureReason.BACKEND_ERROR,
        FailureReason.EVICTED,
        FailureReason.START_FAILED,
    }
)
# The reasons a runner may report in its result (petri_runner/result.py's REASONS): backend_error
# when it could not set up the sandbox, which is retried like the backends' own.
RUNNER_REASONS = (
    FailureReason.ALGORITHM_ERROR,
    FailureReason.BACKEND_ERROR,
    FailureReason.DEADLINE_EXCEEDED,
    FailureReason.OOM_KILLED,
)
# petri_runner's exit statuses that mean "no result, and not the algorithm's fault": exited
# without posting (0), could not reach the API (3), the attempt was already over (4),
# terminated (143). They mirror petri_runner/errors.py; the contract test checks both.
RUNNER_LOST_EXIT_CODES = frozenset({0, 3, 4, 143})


class DatasetInput(models.TextChoices):
    REQUIRED = "required"
    OPTIONAL = "optional"
    NONE = "none"


class Strategy(models.TextChoices):
    """How an experiment chooses its points: the whole grid, or Optuna's samplers."""

    GRID = "grid"
    RANDOM = "random"
    SOBOL = "sobol"
    TPE = "tpe"
    CMAES = "cmaes"
    GP = "gp"


class StopReason(models.TextChoices):
    """Why an experiment stopped taking (or running) new jobs before its space was spent."""

    MAX_JOBS = "max_jobs"
    MAX_FAILED = "max_failed"
    GOAL = "goal"
    TIME_BUDGET = "time_budget"
    CANCELLED = "cancelled"
