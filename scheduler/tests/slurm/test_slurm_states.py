"""How a row of squeue maps to an attempt's state and failure reason (no Slurm needed)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from jobs.models import FailureReason
from scheduler.backends.slurm.states import SlurmJob, classify

NOW = datetime(2026, 11, 27, 12, 0, 0)
GRACE = timedelta(seconds=600)


def _job(state: str, reason: str = "None", exit_code: str = "0", age: float = 0) -> SlurmJob:
    return SlurmJob.from_row(
        {
            "JobID": "42",
            "Name": "p-petri-1-1",
            "State": state,
            "Reason": reason,
            "exit_code": exit_code,
            "SubmitTime": (NOW - timedelta(seconds=age)).isoformat(),
            "UserName": "petri",
        }
    )


def _classify(job: SlurmJob, tail: str = ""):
    return classify(job, "petri-1-1", now=NOW, pending_grace=GRACE, log_tail=tail)


@pytest.mark.parametrize(
    ("state", "exit_code", "reason"),
    [
        ("OUT_OF_MEMORY", "0", FailureReason.OOM_KILLED),
        ("TIMEOUT", "0", FailureReason.DEADLINE_EXCEEDED),
        ("DEADLINE", "0", FailureReason.DEADLINE_EXCEEDED),
        ("NODE_FAIL", "0", FailureReason.LOST),
        ("BOOT_FAIL", "0", FailureReason.LOST),
        ("PREEMPTED", "0", "evicted"),
        ("CANCELLED", "15", FailureReason.CANCELLED),
        ("COMPLETED", "0", FailureReason.LOST),
        ("FAILED", str(3 << 8), FailureReason.LOST),  # the runner's "no result" status
        ("FAILED", "9", FailureReason.LOST),  # killed by a signal, no memory message
        ("FAILED", str(7 << 8), FailureReason.ALGORITHM_ERROR),
    ],
)
def test_each_slurm_end_state_maps_to_one_failure_reason(state, exit_code, reason):
    result = _classify(_job(state, exit_code=exit_code))
    assert result.ended
    assert result.handle == "petri-1-1"
    assert result.reason == reason


def test_exit_codes_are_decoded_from_slurms_wait_status():
    assert _classify(_job("FAILED", exit_code=str(7 << 8))).exit_code == 7
    assert _classify(_job("FAILED", exit_code="9")).exit_code == -9


def test_a_memory_kill_is_recognised_from_the_jobs_output_when_slurm_says_failed():
    tail = "slurmstepd: error: Exceeded job memory limit"
    assert _classify(_job("FAILED", exit_code="9"), tail).reason == FailureReason.OOM_KILLED


def test_a_job_stuck_pending_past_the_grace_is_unschedulable():
    assert _classify(_job("PENDING", "Resources", age=601)).reason == FailureReason.UNSCHEDULABLE
    assert _classify(_job("PENDING", "ReqNodeNotAvail, UnavailableNodes:n1", age=601)).ended


def test_a_job_waiting_its_turn_or_within_the_grace_stays_pending():
    assert _classify(_job("PENDING", "Priority", age=10_000)).phase == "pending"
    assert _classify(_job("PENDING", "Resources", age=599)).phase == "pending"


@pytest.mark.parametrize("state", ["RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED"])
def test_active_states_are_running(state):
    assert _classify(_job(state)).phase == "running"
