"""Business rules of Petri; views, admin actions, consumers and the scheduler call these."""

from __future__ import annotations

from jobs.services.claim import (
    ClaimedJob,
    claim_waiting_jobs,
    handle_for,
    installation_id,
    mark_dispatched,
    reclaim_stale_dispatching,
    release_claimed,
)
from jobs.services.datasets import create_dataset, delete_dataset
from jobs.services.lifecycle import (
    cancel_experiment,
    cancel_job,
    fail_attempt,
    finish_attempt,
    mark_cancelled,
    record_events,
    report_result,
    retry_job,
)
from jobs.services.outputs import store_output_file
from jobs.services.pipelines import (
    advance_pipeline,
    cancel_pipeline,
    retry_pipeline,
    submit_pipeline,
)
from jobs.services.priority import change_priority
from jobs.services.retry import retry_failed_jobs
from jobs.services.runner_spec import runner_spec, runner_specs
from jobs.services.search import top_up_searches
from jobs.services.sharing import share_experiment, shared_usernames, unshare_experiment
from jobs.services.submit import submit_experiment
from jobs.services.tokens import job_for_runner_token, runner_token

__all__ = [
    "ClaimedJob",
    "advance_pipeline",
    "cancel_experiment",
    "cancel_job",
    "cancel_pipeline",
    "change_priority",
    "claim_waiting_jobs",
    "create_dataset",
    "delete_dataset",
    "fail_attempt",
    "finish_attempt",
    "handle_for",
    "installation_id",
    "job_for_runner_token",
    "mark_cancelled",
    "mark_dispatched",
    "reclaim_stale_dispatching",
    "record_events",
    "release_claimed",
    "report_result",
    "retry_failed_jobs",
    "retry_job",
    "retry_pipeline",
    "runner_spec",
    "runner_specs",
    "runner_token",
    "share_experiment",
    "shared_usernames",
    "store_output_file",
    "submit_experiment",
    "submit_pipeline",
    "top_up_searches",
    "unshare_experiment",
]
