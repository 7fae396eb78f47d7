"""What a row of ``squeue`` means for a Petri attempt."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from jobs.models import FailureReason
from scheduler.backends.base import BackendState

# squeue -O fields the backend reads, in this order.
SQUEUE_FIELDS = ("JobID", "Name", "State", "Reason", "exit_code", "SubmitTime", "UserName")

RUNNING = frozenset(
    {"CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "STAGE_OUT", "SIGNALING", "RESIZING"}
)
# Pending reasons that mean "no node can take this now", as opposed to waiting one's turn
# (Priority, Dependency, BeginTime, held jobs): only these count toward the pending grace.
STUCK_REASONS = (
    "Resources",
    "ReqNodeNotAvail",
    "PartitionConfig",
    "PartitionDown",
    "PartitionInactive",
    "PartitionNodeLimit",
    "PartitionTimeLimit",
    "BadConstraints",
    "NodeDown",
    "InvalidAccount",
    "InvalidQOS",
)
# Runner exit statuses that mean "no result, and not the algorithm's fault" (see petri_runner).
RUNNER_LOST_CODES = frozenset({0, 3, 4, 143})
OOM_MARKERS = ("Exceeded job memory limit", "oom-kill", "OUT_OF_MEMORY")


@dataclass(frozen=True)
class SlurmJob:
    """One row of ``squeue``: a Slurm job Petri submitted."""

    job_id: str
    name: str
    state: str
    reason: str
    exit_code: int | None
    submitted_at: datetime | None
    user: str

    @classmethod
    def from_row(cls, row: dict[str, str]) -> SlurmJob:
        return cls(
            job_id=row["JobID"],
            name=row["Name"],
            state=row["State"].split()[0] if row["State"] else "",
            reason=row["Reason"],
            exit_code=_exit_status(row["exit_code"]),
            submitted_at=_time(row["SubmitTime"]),
            user=row["UserName"],
        )

    @property
    def pending(self) -> bool:
        return self.state in ("PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED")

    def stuck(self) -> bool:
        return self.pending and self.reason.startswith(STUCK_REASONS)


def classify(
    job: SlurmJob, handle: str, *, now: datetime, pending_grace: timedelta, log_tail: str = ""
) -> BackendState:
    """The attempt's state from its Slurm job; ended states carry a failure reason."""
    if job.pending:
        if job.stuck() and job.submitted_at and now - job.submitted_at > pending_grace:
            return BackendState(
                handle,
                "gone",
                reason=FailureReason.UNSCHEDULABLE,
                message=f"Slurm kept job {job.job_id} pending ({job.reason}) for more than "
                f"{pending_grace.total_seconds():g} s",
            )
        return BackendState(handle, "pending", message=job.reason)
    if job.state in RUNNING:
        return BackendState(handle, "running")
    return _ended(job, handle, log_tail)


def _ended(job: SlurmJob, handle: str, log_tail: str) -> BackendState:
    where = f"Slurm job {job.job_id}"
    code = job.exit_code
    if job.state == "OUT_OF_MEMORY" or any(marker in log_tail for marker in OOM_MARKERS):
        return _gone(handle, FailureReason.OOM_KILLED, f"{where} exceeded its memory limit", code)
    if job.state in ("TIMEOUT", "DEADLINE"):
        return _gone(
            handle, FailureReason.DEADLINE_EXCEEDED, f"{where} reached its time limit", code
        )
    if job.state == "PREEMPTED":
        return _gone(handle, "evicted", f"{where} was preempted", code)
    if job.state in ("NODE_FAIL", "BOOT_FAIL"):
        return _gone(handle, FailureReason.LOST, f"{where} ended with {job.state}", code)
    if job.state == "CANCELLED":
        return _gone(
            handle,
            FailureReason.CANCELLED,
            f"{where} was cancelled in Slurm, not by Petri (scancel by its user or an operator)",
            code,
        )
    if job.state == "COMPLETED" or code is None or code < 0 or code in RUNNER_LOST_CODES:
        message = f"{where} ended ({job.state}) without the runner posting a result"
        return _gone(handle, FailureReason.LOST, _with_tail(message, log_tail), code)
    message = f"{where} failed: the runner exited with status {code}"
    return _gone(handle, FailureReason.ALGORITHM_ERROR, _with_tail(message, log_tail), code)


def _gone(handle: str, reason: str, message: str, code: int | None) -> BackendState:
    return BackendState(handle, "exited", exit_code=code, reason=reason, message=message)


def _with_tail(message: str, tail: str) -> str:
    return f"{message}; its last lines:\n{tail}" if tail else message


def _exit_status(text: str) -> int | None:
    """squeue's exit_code is a wait status: the exit code, or minus the killing signal."""
    try:
        status = int(text)
    except ValueError:
        return None
    signal = status & 0x7F
    return -signal if signal else status >> 8


def _time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None
