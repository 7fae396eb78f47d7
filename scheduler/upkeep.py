"""What a scheduler's tick does besides dispatching: cancels, reconciles, deadlines, orphans."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings

from jobs import services
from jobs.models import FailureReason, Job, JobStatus
from jobs.services import housekeeping
from scheduler.backends import Backend, BackendError

# Under the loop's name: operators filter the scheduler's warnings by it.
log = logging.getLogger("scheduler.loop")


class Upkeep:
    """The Scheduler's passes over attempts already handed to its backend."""

    backend: Backend

    def _stop(self, handle: str) -> bool:
        """Ask the backend to stop an attempt; a failure is logged, not raised, so one stuck
        delete never holds up the rest (the orphan sweep stops what is left behind)."""
        try:
            self.backend.cancel(handle)
        except BackendError as exc:
            log.warning("could not stop %s: %s", handle, exc)
            return False
        return True

    def cancel_requested(self) -> int:
        jobs = list(
            Job.objects.filter(status=JobStatus.CANCELLING, backend=self.backend.name).values_list(
                "id", "attempt", "handle"
            )
        )
        cancelled = 0
        for job_id, attempt, handle in jobs:
            if handle and not self._stop(handle):
                continue  # still cancelling: tried again next tick
            services.mark_cancelled(job_id, attempt)
            cancelled += 1
        return cancelled

    def reconcile(self, now: datetime) -> int:
        """Fail attempts that ended without a result, and runners silent past their lease."""
        active = {
            handle: (job_id, attempt)
            for job_id, attempt, handle in Job.objects.filter(
                status__in=(JobStatus.PENDING, JobStatus.RUNNING), backend=self.backend.name
            ).values_list("id", "attempt", "handle")
        }
        if not active:
            return 0
        changed = 0
        try:
            states = self.backend.reconcile(list(active))
        except BackendError as exc:
            # An unreachable backend says nothing about its jobs: judge none of them lost.
            log.warning("cannot reconcile with the %s backend now: %s", self.backend.name, exc)
            return 0
        for handle, state in states.items():
            if state.ended:
                job_id, attempt = active[handle]
                services.fail_attempt(
                    job_id,
                    attempt,
                    state.reason or FailureReason.LOST,
                    state.message,
                    state.exit_code,
                    now=now,
                )
                changed += 1
        # A runner that still exists but has said nothing for two leases is hung: stop it.
        lease = timedelta(seconds=settings.PETRI_HEARTBEAT_TIMEOUT)
        for job_id, attempt, handle in housekeeping.silent_since(
            self.backend.name, now - 2 * lease
        ):
            if handle in states and states[handle].ended:
                continue
            self._stop(handle)
            services.fail_attempt(
                job_id,
                attempt,
                FailureReason.LOST,
                f"no heartbeat for {2 * lease.seconds} s",
                now=now,
            )
            changed += 1
        return changed

    def enforce_deadlines(self, now: datetime) -> int:
        expired = housekeeping.past_deadline(self.backend.name, now)
        for job_id, attempt, handle in expired:
            self._stop(handle)
            services.fail_attempt(
                job_id,
                attempt,
                FailureReason.DEADLINE_EXCEEDED,
                "the experiment's timeout passed",
                now=now,
            )
        return len(expired)

    def sweep_orphans(self) -> int:
        """Stop what the backend holds for attempts the database no longer runs: a Job whose
        create answer was lost and whose job was then cancelled, a delete that failed..."""
        try:
            unfinished = self.backend.unfinished_handles()
        except BackendError as exc:
            log.warning("cannot look for orphaned attempts: %s", exc)
            return 0
        if not unfinished:
            return 0
        orphans = housekeeping.orphaned_handles(unfinished)
        for handle in orphans:
            log.warning("stopping %s: the database has no live attempt of that name", handle)
            self._stop(handle)
        return len(orphans)
