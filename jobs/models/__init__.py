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
from jobs.models.pipelines import (
    FINAL_STAGE_STATUSES,
    Pipeline,
    PipelineStatus,
    Stage,
    StageStatus,
)
from jobs.models.queue import Experiment, ExperimentTag, Job, JobEvent, OutputFile, Result
from jobs.models.quotas import Quota, UsageRecord
from jobs.models.recurring import RecurringFiring, RecurringRun

__all__ = [
    "BACKEND_STATUSES",
    "FINAL_STAGE_STATUSES",
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
    "ExperimentTag",
    "FailureReason",
    "Installation",
    "Job",
    "JobEvent",
    "JobStatus",
    "OutputFile",
    "Pipeline",
    "PipelineStatus",
    "Quota",
    "RecurringFiring",
    "RecurringRun",
    "RemoteDatabase",
    "Result",
    "Stage",
    "StageStatus",
    "StopReason",
    "Strategy",
    "UsageRecord",
]
