"""The scheduler: each tick cancels, dispatches and reconciles; the loop repeats ticks."""

from __future__ import annotations

import logging
import os
import socket
import threading

from django.conf import settings
from django.db import close_old_connections

from jobs import services
from jobs.models import Job, JobStatus
from scheduler.backends import Backend, BackendError, JobSpec

log = logging.getLogger(__name__)


def default_identity() -> str:
    return os.environ.get("PETRI_SCHEDULER_ID") or f"{socket.gethostname()}:{os.getpid()}"


class Scheduler:
    def __init__(
        self,
        backend: Backend,
        *,
        identity: str | None = None,
        api_url: str | None = None,
        batch: int | None = None,
    ) -> None:
        self.backend = backend
        self.identity = identity or default_identity()
        self.api_url = api_url or settings.PETRI_API_URL
        self.batch = batch or settings.PETRI_CLAIM_BATCH

    def tick(self) -> bool:
        """One pass over the queue; True when it changed anything."""
        cancelled = self.cancel_requested()
        dispatched = self.dispatch()
        reconciled = self.reconcile()
        return bool(cancelled or dispatched or reconciled)

    def dispatch(self) -> int:
        capacity = self.backend.capacity()
        limit = self.batch if capacity is None else min(self.batch, capacity)
        common = {"scheduler": self.identity, "backend": self.backend.name}
        claimed = services.reclaim_stale_dispatching(limit=limit, **common)
        claimed += services.claim_waiting_jobs(limit=limit - len(claimed), **common)
        accepted = []
        for item in claimed:
            job = item.job
            spec = JobSpec(
                job_id=job.pk,
                attempt=job.attempt,
                handle=job.handle,
                token=item.token,
                api_url=self.api_url,
                algorithm=job.experiment.algorithm.name,
                image=job.experiment.algorithm.image,
                resources=job.experiment.resources,
                timeout=job.experiment.timeout,
                experiment_id=job.experiment_id,
                owner=job.owner.get_username(),
            )
            try:
                self.backend.submit(spec)
            except BackendError as exc:
                log.warning("backend refused %s: %s", job.handle, exc)
                services.fail_attempt(job.pk, job.attempt, "backend_error", str(exc))
                continue
            accepted.append(job)
        services.mark_dispatched(accepted)
        return len(claimed)

    def cancel_requested(self) -> int:
        jobs = list(
            Job.objects.filter(status=JobStatus.CANCELLING, backend=self.backend.name).values_list(
                "id", "attempt", "handle"
            )
        )
        for job_id, attempt, handle in jobs:
            if handle:
                self.backend.cancel(handle)
            services.mark_cancelled(job_id, attempt)
        return len(jobs)

    def reconcile(self) -> int:
        """Fail attempts whose process or Kubernetes Job ended without posting a result."""
        active = {
            handle: (job_id, attempt)
            for job_id, attempt, handle in Job.objects.filter(
                status__in=(JobStatus.PENDING, JobStatus.RUNNING), backend=self.backend.name
            ).values_list("id", "attempt", "handle")
        }
        if not active:
            return 0
        changed = 0
        for handle, state in self.backend.reconcile(list(active)).items():
            if not state.ended:
                continue
            job_id, attempt = active[handle]
            services.fail_attempt(
                job_id, attempt, state.reason or "lost", state.message, state.exit_code
            )
            changed += 1
        return changed


def run_forever(
    scheduler: Scheduler, stop: threading.Event, poll_interval: float | None = None
) -> None:
    """Tick until ``stop`` is set; sleep between idle ticks, never in the middle of one."""
    interval = settings.PETRI_POLL_INTERVAL if poll_interval is None else poll_interval
    log.info("scheduler %s running on the %s backend", scheduler.identity, scheduler.backend.name)
    while not stop.is_set():
        try:
            busy = scheduler.tick()
        except Exception:
            log.exception("scheduler tick failed; trying again")
            busy = False
        finally:
            close_old_connections()
        if not busy:
            stop.wait(interval)
    log.info("scheduler %s stopped", scheduler.identity)
