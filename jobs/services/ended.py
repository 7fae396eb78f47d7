"""The "experiment ended" rule: once its last job reaches a final state, announce it once.

Services call ``check_ended`` in the transaction that moved a job to a final state (never for
progress). The check runs after commit, so two last jobs finished at once in two
transactions still see each other; a conditional UPDATE of ``notified_at`` lets exactly one
process, of any number of web and scheduler replicas, announce ``experiment_ended`` and
advance the pipeline the experiment belongs to (services/pipelines.py).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from jobs.models import FINAL_STATUSES, Experiment, Job, Strategy
from jobs.signals import experiment_ended


def check_ended(experiment_ids: Iterable[int]) -> None:
    """After commit, claim and announce whichever of these experiments has just ended."""
    ids = sorted(set(experiment_ids))
    if ids:
        transaction.on_commit(lambda: claim_ended(ids), robust=True)


def claim_ended(experiment_ids: Iterable[int]) -> list[int]:
    """Take the one right to announce each ended experiment; announce those taken."""
    claimed = []
    for experiment_id in experiment_ids:
        # Most jobs end with others still to run: a plain look for an unfinished job costs a
        # fraction of building the conditional UPDATE, which it could only make a no-op.
        unfinished = Job.objects.filter(experiment_id=experiment_id).exclude(
            status__in=FINAL_STATUSES
        )
        if unfinished.exists():
            continue
        if _ended().filter(pk=experiment_id).update(notified_at=timezone.now()) == 1:
            claimed.append(experiment_id)
            experiment_ended.send(None, experiment_id=experiment_id)
    if claimed:
        # Imported here: pipelines submit and cancel experiments, whose services import this.
        from jobs.services.pipelines import advance_after_experiments

        advance_after_experiments(claimed)
    return claimed


def _ended() -> QuerySet[Experiment]:
    """Experiments that ended and were not announced yet."""
    jobs = Job.objects.filter(experiment=OuterRef("pk"))
    # A search between two points has no unfinished job yet has not ended: it ends once stopped.
    return Experiment.objects.filter(notified_at__isnull=True).filter(
        Exists(jobs),
        ~Exists(jobs.exclude(status__in=FINAL_STATUSES)),
        Q(strategy=Strategy.GRID) | ~Q(stop_reason=""),
    )
