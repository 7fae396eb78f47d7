"""What changed in the job domain, announced by the services after their transaction commits.

jobs imports nothing of webapp, so webapp subscribes: webapp.realtime pushes the first three to
websockets (in the web process and in the scheduler process alike); webapp.accounts e-mails the
owner on ``experiment_ended``. Each service names what it announces where it commits.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.dispatch import Signal

# job_ids: list[int] (may be empty), experiment_ids: list[int]
jobs_changed = Signal()
# job_id, experiment_id, owner_id, attempt, lines: list[str]
job_logged = Signal()
# job_id, experiment_id, owner_id, attempt, points: list[{"name", "value", "step", "time"}]
job_measured = Signal()
# experiment_id: its last job reached a final state; sent once per experiment, ever
# (jobs/services/ended.py), from whichever process saw it first, after that commit.
experiment_ended = Signal()
# pipeline_id, owner_id: a pipeline or one of its stages changed status (services/pipelines.py)
pipeline_changed = Signal()


def announce_jobs_changed(job_ids: Iterable[int], experiment_ids: Iterable[int]) -> None:
    job_ids, experiment_ids = sorted(set(job_ids)), sorted(set(experiment_ids))
    if not job_ids and not experiment_ids:
        return
    transaction.on_commit(
        lambda: jobs_changed.send(None, job_ids=job_ids, experiment_ids=experiment_ids),
        robust=True,
    )


def announce(signal: Signal, **payload) -> None:
    transaction.on_commit(lambda: signal.send(None, **payload), robust=True)
