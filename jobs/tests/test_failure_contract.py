"""Failure reasons are one contract: the enum, the retry rule, the backends and the runner."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from jobs import services
from jobs.models import (
    RETRYABLE_REASONS,
    RUNNER_LOST_EXIT_CODES,
    RUNNER_REASONS,
    FailureReason,
    Job,
    JobStatus,
)
from jobs.tests.factories import make_experiment

RUNNER_DIR = Path(__file__).resolve().parents[2] / "base-image" / "runner"


@pytest.fixture
def petri_runner(monkeypatch):
    """The runner's modules, imported from the source tree (the runner is not installed)."""
    monkeypatch.syspath_prepend(str(RUNNER_DIR))
    return importlib.import_module("petri_runner.errors"), importlib.import_module(
        "petri_runner.result"
    )


def test_every_reason_the_runner_reports_is_a_failure_reason_the_server_accepts(petri_runner):
    _, result = petri_runner
    assert set(result.REASONS) <= set(FailureReason.values)
    assert set(result.REASONS) == {reason.value for reason in RUNNER_REASONS}


def test_the_runner_names_no_reason_outside_its_list(petri_runner):
    _, result = petri_runner
    listed = {name for name in vars(result) if getattr(result, name) in result.REASONS}
    named = {
        name
        for path in (RUNNER_DIR / "petri_runner").glob("*.py")
        for name in re.findall(r"reason=([A-Z_]+)\b", path.read_text())
    }
    assert named, "the runner's sources name their reasons as reason=CONSTANT"
    assert named <= listed


def test_the_runners_lost_exit_codes_are_the_ones_the_backends_read(petri_runner):
    errors, _ = petri_runner
    assert errors.LOST_EXIT_CODES == RUNNER_LOST_EXIT_CODES


def test_evicted_is_a_failure_reason_and_is_retried():
    assert FailureReason("evicted") is FailureReason.EVICTED
    assert FailureReason.EVICTED in RETRYABLE_REASONS


def test_retryable_reasons_are_all_failure_reasons():
    assert {reason.value for reason in RETRYABLE_REASONS} <= set(FailureReason.values)


@pytest.mark.django_db
def test_an_evicted_attempt_goes_back_to_the_queue(user):
    make_experiment(user, parameters={"n": 1}, max_attempts=2)
    (claimed,) = services.claim_waiting_jobs(scheduler="s1", backend="noop", limit=1)
    services.mark_dispatched([claimed])

    services.fail_attempt(claimed.job_id, claimed.attempt, FailureReason.EVICTED, "node drained")

    job = Job.objects.get(pk=claimed.job_id)
    assert (job.status, job.attempt, job.failure_reason) == (JobStatus.WAITING, 2, "evicted")
