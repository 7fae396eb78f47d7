"""The interface every execution backend implements (local process, Kubernetes, noop)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Literal

Phase = Literal["pending", "running", "exited", "gone"]


class BackendError(Exception):
    """The backend could not do what was asked; the attempt may be retried."""


class BackendUnavailable(BackendError):
    """Transient trouble (unreachable, timed out, throttled, 5xx): nothing about the attempt was
    decided. The scheduler hands it back to the queue unspent and pauses, at least
    ``retry_after`` seconds when the backend said so."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BackendRefused(BackendError):
    """The backend refused this attempt for good (forbidden, invalid): retrying cannot help."""


# Not frozen: a frozen dataclass sets each field through object.__setattr__, 2.5 times the cost
# of building one with slots (1.8 against 0.7 us), paid for every job dispatched.
@dataclass(slots=True)
class JobSpec:
    """Everything a backend needs to start one attempt of one job; backends only read it."""

    job_id: int
    attempt: int
    handle: str
    token: str
    api_url: str
    algorithm: str
    image: str = ""
    resources: dict[str, Any] = field(default_factory=dict)
    timeout: int | None = None
    experiment_id: int | None = None
    owner: str = ""
    owner_groups: tuple[str, ...] = ()
    # Code a user uploaded (not the operator's catalog): only ever run confined.
    uploaded: bool = False
    installation: str = ""
    # What GET /api/runner/job/ would answer, for a backend that hands it to the runner at start.
    runner_spec: dict[str, Any] | None = None


@dataclass(frozen=True)
class BackendState:
    """What the backend knows of an attempt. ``reason`` classifies an attempt that ended badly."""

    handle: str
    phase: Phase
    exit_code: int | None = None
    reason: str = ""
    message: str = ""

    @property
    def ended(self) -> bool:
        return self.phase in ("exited", "gone")


@dataclass(frozen=True)
class Node:
    name: str
    cpu_allocatable: float
    cpu_requested: float
    memory_allocatable: int
    memory_requested: int
    gpu_allocatable: int = 0
    gpu_requested: int = 0
    labels: dict[str, str] = field(default_factory=dict)


class Backend(ABC):
    name: str
    # Whether submit() gets each attempt's runner spec, to hand the runner so it need not ask.
    hands_spec: bool = False
    # Whether it wakes the scheduler itself when an attempt's slot frees (its process exits):
    # then a result committed in this process need not wake it while the slot is still held.
    wakes_on_exit: bool = False

    def capacity(self) -> int | None:
        """How many more attempts it can take now; None when it does not limit them."""
        return None

    @abstractmethod
    def submit(self, spec: JobSpec) -> None:
        """Start an attempt. Idempotent: a handle that already exists is adopted."""

    @abstractmethod
    def cancel(self, handle: str) -> None:
        """Stop an attempt and release what it holds. Idempotent."""

    @abstractmethod
    def reconcile(self, handles: list[str]) -> dict[str, BackendState]:
        """The state of each of these attempts, in as few calls as the backend allows."""

    def logs(self, handle: str) -> str | None:
        """The attempt's own output as the backend saw it, if it keeps any."""
        return None

    def nodes(self) -> list[Node]:
        return []

    def unfinished_handles(self) -> list[str] | None:
        """Handles of this installation's attempts the backend still holds unfinished, for the
        orphan sweep; None when the backend keeps nothing that could outlive its job."""
        return None

    def prepare(self) -> None:  # noqa: B027  (optional hook; most backends hold nothing)
        """Called when the scheduler starts, before its first tick; must return at once."""

    def shutdown(self) -> None:  # noqa: B027  (optional hook; most backends hold nothing)
        """Called when the scheduler stops."""
