"""The scheduler: each tick cancels, dispatches and, now and then, reconciles and tidies up."""

from __future__ import annotations

import gc
import logging
import os
import socket
import threading
import time
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import F
from django.utils import timezone

from jobs import services
from jobs.models import FailureReason
from jobs.services import nodes
from jobs.telemetry import DISPATCH_SECONDS
from scheduler.backends import (
    Backend,
    BackendError,
    BackendRefused,
    BackendUnavailable,
    JobSpec,
)
from scheduler.models import SchedulerReplica
from scheduler.upkeep import Upkeep
from scheduler.wakeup import Waker

log = logging.getLogger(__name__)
REPLICA_HEARTBEAT_SECONDS = 10
ORPHAN_SWEEP_SECONDS = 300
# Dispatched attempts are recorded once a pass, and at least once a second, so a slow backend's
# attempts show as pending early; a fast backend's claim is recorded in one transaction.
MARK_EVERY_SECONDS = 1.0
# A backend that took a whole claim within FAST_PASS_SECONDS gets the next one doubled, up to
# CLAIM_GROWTH times the configured batch: a claim's fixed statements then spread over more
# jobs. A slow backend keeps the configured batch, so its claimed jobs do not sit dispatching.
CLAIM_GROWTH = 8
FAST_PASS_SECONDS = 1.0
# Back-off of dispatch while the backend is unavailable: 1, 2, 4 ... 60 s, or its Retry-After.
PAUSE_BASE_SECONDS = 1.0
PAUSE_CAP_SECONDS = 60.0


def default_identity() -> str:
    return os.environ.get("PETRI_SCHEDULER_ID") or f"{socket.gethostname()}:{os.getpid()}"


class Scheduler(Upkeep):
    def __init__(
        self,
        backend: Backend,
        *,
        identity: str | None = None,
        api_url: str | None = None,
        batch: int | None = None,
        reconcile_interval: float | None = None,
        orphan_sweep_interval: float = ORPHAN_SWEEP_SECONDS,
        clock=timezone.now,
        takes_default: bool = True,
        monotonic=time.monotonic,
    ) -> None:
        self.backend = backend
        self.identity = identity or default_identity()
        self.api_url = api_url or settings.PETRI_API_URL
        self.batch = batch or settings.PETRI_CLAIM_BATCH
        self.reconcile_interval = (
            settings.PETRI_RECONCILE_INTERVAL if reconcile_interval is None else reconcile_interval
        )
        self.orphan_sweep_interval = orphan_sweep_interval
        self.clock = clock
        # Whether jobs bound to no backend are this scheduler's (it runs the default backend).
        self.takes_default = takes_default
        self.monotonic = monotonic
        # The first orphan sweep waits one interval: a replica starting with others is no hurry.
        self._due: dict[str, float] = {"orphans": monotonic() + orphan_sweep_interval}
        self.paused_until = 0.0  # monotonic; dispatch waits while the backend is unavailable
        self._batch_full = False  # the last claim took a whole batch: more may be waiting
        self._claim_size = self.batch  # grows while a fast backend takes whole claims
        self._unavailable = 0  # consecutive times it was

    def _every(self, name: str, seconds: float) -> bool:
        """True when ``name`` last ran at least ``seconds`` ago (monotonic)."""
        now = self.monotonic()
        if now < self._due.get(name, 0):
            return False
        self._due[name] = now + seconds
        return True

    def tick(self) -> bool:
        """One pass; True when it changed anything, so the loop goes on without sleeping."""
        now = self.clock()
        if self._every("heartbeat", REPLICA_HEARTBEAT_SECONDS):
            self.heartbeat(now)
        changed = self.cancel_requested()
        # Searches queue their next points (and spent budgets stop) before the claim sees them.
        changed += services.top_up_searches(now)
        dispatched = self.dispatch(now)
        if self._every("reconcile", self.reconcile_interval):
            changed += self.reconcile(now)
            changed += self.enforce_deadlines(now)
            self.publish_nodes()
        if self._every("orphans", self.orphan_sweep_interval):
            changed += self.sweep_orphans()
        # A claim short of a batch took every due job the backend had room for: the next pass
        # would find nothing, and a new job or a freed slot wakes the loop anyway.
        return changed > 0 or (dispatched > 0 and self._batch_full)

    def publish_nodes(self) -> None:
        """Write the backend's nodes and what is requested on them where the web app reads."""
        try:
            seen = self.backend.nodes()
        except BackendError as exc:
            log.warning("cannot list the %s backend's nodes: %s", self.backend.name, exc)
            return
        nodes.publish_nodes(self.backend.name, self.identity, [asdict(node) for node in seen])

    def heartbeat(self, now: datetime, stopped: bool = False) -> None:
        SchedulerReplica.objects.update_or_create(
            identity=self.identity,
            defaults={
                "backend": self.backend.name,
                "last_seen_at": now,
                "stopped_at": now if stopped else None,
            },
            create_defaults={"backend": self.backend.name, "started_at": now, "last_seen_at": now},
        )

    def dispatch(self, now: datetime) -> int:
        self._batch_full = False
        if self.monotonic() < self.paused_until:
            return 0
        # A pass allocates a few tuples a job, next to no cycles, which refcounting frees; the
        # cyclic collector would still walk the whole heap (Django's ~150,000 objects) every few
        # thousand jobs, 10-20% of a fast backend's pass. It is held off for FAST_PASS_SECONDS.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._dispatch(now, collecting)
        finally:
            if collecting:
                gc.enable()

    def _dispatch(self, now: datetime, collecting: bool) -> int:
        capacity = self.backend.capacity()
        size = self._claim_size
        limit = size if capacity is None else min(size, capacity)
        common = {"scheduler": self.identity, "backend": self.backend.name, "now": now}
        claimed = []
        if self._every("reclaim", self.reconcile_interval):
            claimed = services.reclaim_stale_dispatching(limit=limit, **common)
        claimed += services.claim_waiting_jobs(
            limit=limit - len(claimed), takes_default=self.takes_default, **common
        )
        self._batch_full = len(claimed) >= size
        self._common: dict[int, dict] = {}
        # One query for the pass, where each runner would otherwise fetch its own spec.
        self._runner_specs = (
            services.runner_specs(claimed) if claimed and self.backend.hands_spec else {}
        )
        started = last_mark = self.monotonic()
        # Stop well before another replica may take the claim over as stale.
        budget = settings.PETRI_DISPATCH_TIMEOUT / 2
        accepted: list[services.ClaimedJob] = []
        for index, item in enumerate(claimed):
            elapsed = self.monotonic() - started
            if elapsed > budget:
                services.release_claimed(claimed[index:], wait_reason="", not_before=now)
                break
            if collecting and elapsed > FAST_PASS_SECONDS:
                gc.enable()  # a slow pass: the process's other threads may need collection
            try:
                self._submit(self._spec(item))
            except BackendUnavailable as exc:
                delay = self._pause(exc)
                log.warning("backend unavailable (%s); dispatch paused %.1f s", exc, delay)
                services.release_claimed(
                    claimed[index:],
                    wait_reason=f"the backend is unavailable: {exc}",
                    not_before=self.clock() + timedelta(seconds=delay),
                )
                break
            except BackendRefused as exc:
                log.warning("backend refused %s: %s", item.handle, exc)
                services.fail_attempt(
                    item.job_id, item.attempt, FailureReason.BACKEND_REFUSED, str(exc)
                )
                continue
            except BackendError as exc:
                log.warning("backend failed %s: %s", item.handle, exc)
                services.fail_attempt(
                    item.job_id, item.attempt, FailureReason.BACKEND_ERROR, str(exc)
                )
                continue
            self._unavailable = 0
            accepted.append(item)
            if self.monotonic() - last_mark >= MARK_EVERY_SECONDS:
                self._mark_dispatched(accepted)
                accepted, last_mark = [], self.monotonic()
        self._mark_dispatched(accepted)
        now_mono = self.monotonic()
        fast = now_mono - started < FAST_PASS_SECONDS and now_mono >= self.paused_until
        self._claim_size = (
            min(2 * size, CLAIM_GROWTH * self.batch) if self._batch_full and fast else self.batch
        )
        return len(claimed)

    def _submit(self, spec: JobSpec) -> None:
        # Timed by hand: the histogram's timer costs as much as a fast backend's submit.
        began = time.perf_counter()
        try:
            self.backend.submit(spec)
        finally:
            DISPATCH_SECONDS.observe(time.perf_counter() - began)

    def _spec(self, item: services.ClaimedJob) -> JobSpec:
        experiment = item.experiment
        # What the spec takes from the experiment is read once a pass, not once a job.
        common = self._common.get(experiment.pk)
        if common is None:
            common = self._common[experiment.pk] = {
                "api_url": self.api_url,
                "algorithm": experiment.algorithm.name,
                "image": experiment.algorithm.image,
                "resources": experiment.resources,
                "timeout": experiment.timeout,
                "experiment_id": experiment.pk,
                "owner": experiment.owner.get_username(),
                # Backends route by them; the claim prefetched them.
                "owner_groups": tuple(group.name for group in experiment.owner.groups.all()),
                "uploaded": experiment.algorithm.artifact_id is not None,
            }
        return JobSpec(
            job_id=item.job_id,
            attempt=item.attempt,
            handle=item.handle,
            token=item.token,
            installation=item.installation,
            runner_spec=self._runner_specs.get(item.job_id),
            **common,
        )

    def _pause(self, exc: BackendUnavailable) -> float:
        """Hold dispatch back: exponential back-off, and never less than the backend asked."""
        delay = min(PAUSE_CAP_SECONDS, PAUSE_BASE_SECONDS * 2**self._unavailable)
        delay = max(delay, exc.retry_after or 0.0)
        self._unavailable += 1
        self.paused_until = self.monotonic() + delay
        return delay

    def _mark_dispatched(self, accepted: list[services.ClaimedJob]) -> None:
        """Record the accepted attempts, and count them on the replica in the same commit:
        a commit of its own would cost a flush a pass for a figure only operators read."""
        if not accepted:
            return
        with transaction.atomic():
            services.mark_dispatched(accepted)
            SchedulerReplica.objects.filter(identity=self.identity).update(
                dispatched=F("dispatched") + len(accepted)
            )


def _touch(path: str) -> None:
    """Mark the loop alive for a liveness probe (k8s/base/scheduler.yaml)."""
    if not path:
        return
    try:
        Path(path).touch()
    except OSError as exc:
        log.warning("cannot touch the heartbeat file %s: %s", path, exc)


def _close_stale_connection() -> None:
    """After a tick, drop this thread's connection if it broke or outlived CONN_MAX_AGE.

    SQLite's stays open: a handle on a local file cannot go stale, and opening one costs
    about a millisecond (Django registers its SQL functions on each), paid on every tick
    while jobs end one by one. Its CONN_MAX_AGE of 0 is for the web's one-request threads.
    """
    if connection.vendor == "sqlite":
        if connection.connection is not None and not connection.is_usable():
            connection.close()
        return
    close_old_connections()


def run_forever(
    scheduler: Scheduler,
    stop: threading.Event,
    waker: Waker | None = None,
    poll_interval: float | None = None,
) -> None:
    """Tick until ``stop`` is set; between idle ticks sleep until NOTIFY or the poll interval."""
    interval = settings.PETRI_POLL_INTERVAL if poll_interval is None else poll_interval
    waker = waker or Waker.for_backend(scheduler.backend)
    log.info("scheduler %s running on the %s backend", scheduler.identity, scheduler.backend.name)
    scheduler.backend.prepare()
    waker.listen()
    try:
        while not stop.is_set():
            try:
                busy = scheduler.tick()
            except Exception:
                log.exception("scheduler tick failed; trying again")
                busy = False
            finally:
                _close_stale_connection()
                _touch(settings.PETRI_SCHEDULER_HEARTBEAT_FILE)
            if not busy and not stop.is_set():
                waker.wait(interval)
        scheduler.heartbeat(scheduler.clock(), stopped=True)
        nodes.withdraw_nodes(scheduler.backend.name, scheduler.identity)
    finally:
        waker.close()
        if not connection.in_atomic_block:  # the kept SQLite one; not a caller's transaction
            connection.close()
    log.info("scheduler %s stopped", scheduler.identity)
