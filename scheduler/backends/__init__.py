"""Execution backends, chosen by ``PETRI_BACKEND``."""

from __future__ import annotations

from django.conf import settings

from scheduler.backends.base import (
    Backend,
    BackendError,
    BackendRefused,
    BackendState,
    BackendUnavailable,
    JobSpec,
    Node,
)


def create_backend(name: str | None = None) -> Backend:
    name = name or settings.PETRI_BACKEND
    if name == "local":
        from scheduler.backends.local import LocalBackend, SandboxSettings

        return LocalBackend(
            max_running=settings.PETRI_MAX_RUNNING,
            runner_dir=settings.PETRI_RUNNER_DIR,
            algorithms_dir=settings.PETRI_ALGORITHMS_DIR,
            log_dir=settings.VAR_DIR / "runner-logs",
            sandbox=SandboxSettings(
                kind=settings.PETRI_LOCAL_SANDBOX,
                bwrap=settings.PETRI_LOCAL_SANDBOX_BWRAP,
                max_processes=settings.PETRI_LOCAL_SANDBOX_MAX_PROCESSES,
                max_file_mb=settings.PETRI_LOCAL_SANDBOX_MAX_FILE_MB,
                uid_base=settings.PETRI_LOCAL_SANDBOX_UID_BASE,
                warm=settings.PETRI_LOCAL_WARM,
            ),
        )
    if name == "noop":
        from scheduler.backends.noop import NoopBackend

        return NoopBackend(
            record_file=settings.PETRI_NOOP_RECORD_FILE or None,
            submit_delay=settings.PETRI_NOOP_SUBMIT_DELAY,
        )
    if name == "kubernetes":
        from scheduler.backends.kubernetes import KubernetesBackend

        return KubernetesBackend.from_settings(settings)
    if name == "slurm":
        from scheduler.backends.slurm import SlurmBackend

        return SlurmBackend.from_settings(settings)
    raise ValueError(f"unknown backend {name!r}")


__all__ = [
    "Backend",
    "BackendError",
    "BackendRefused",
    "BackendState",
    "BackendUnavailable",
    "JobSpec",
    "Node",
    "create_backend",
]
