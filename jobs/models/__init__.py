"""The domain: algorithms, datasets, experiments, the relational job queue, quotas."""

from __future__ import annotations

from jobs.models.catalog import Algorithm, Artifact, Dataset, RemoteDatabase
from jobs.models.enums import (
    BACKEND_STATUSES,
    FINAL_STATUSES,
    RETRYABLE_REASONS,
    RUNNER_LOST_EXIT_CODES,
    RUNNER_REASONS,
    RUNNER_STATUSES,
    DatasetInput,
    FailureReason,
    JobStatus,
    StopReason,
    Strategy,
)
from jobs.models.installation import Installation
from jobs.models.nodes import BackendNode
from jobs.models.queue import Experiment, Job, JobEvent, OutputFile, Result
from jobs.models.quotas import Quota, UsageRecord

__all__ = [
    "BACKEND_STATUSES",
    "FINAL_STATUSES",
    "RETRYABLE_REASONS",
    "RUNNER_LOST_EXIT_CODES",
    "RUNNER_REASONS",
    "RUNNER_STATUSES",
    "Algorithm",
    "Artifact",
    "BackendNode",
    "Dataset",
    "DatasetInput",
    "Experiment",
    "FailureReason",
    "Installation",
    "Job",
    "JobEvent",
    "JobStatus",
    "OutputFile",
    "Quota",
    "RemoteDatabase",
    "Result",
    "StopReason",
    "Strategy",
    "UsageRecord",
]
