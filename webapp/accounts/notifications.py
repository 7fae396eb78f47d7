"""E-mail when an experiment ends: claimed once with a conditional UPDATE, sent on commit.

Whichever process (web or any scheduler replica) first sees an experiment with no unfinished
job sets ``notified_at``; the others' UPDATE then matches no row, so one e-mail goes out.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from jobs.models import FINAL_STATUSES, Experiment, Job, JobStatus, Result
from jobs.status import derive_status, job_counts
from webapp.accounts.services import profile_of

log = logging.getLogger(__name__)


def _ended() -> Any:
    """Experiments that have jobs, none of them unfinished (a Q-like filter pair)."""
    jobs = Job.objects.filter(experiment=OuterRef("pk"))
    return Exists(jobs), ~Exists(jobs.exclude(status__in=FINAL_STATUSES))


def claim_notification(experiment_id: int) -> bool:
    """Take the one right to announce this experiment's end; False when it is not ours."""
    has_jobs, none_unfinished = _ended()
    claimed = (
        Experiment.objects.filter(pk=experiment_id, notified_at__isnull=True)
        .filter(has_jobs, none_unfinished)
        .update(notified_at=timezone.now())
    )
    return claimed == 1


def notify_ended(experiment_ids: Iterable[int]) -> list[int]:
    """Claim and (after commit) e-mail every given experiment that has just ended."""
    has_jobs, none_unfinished = _ended()
    candidates = list(
        Experiment.objects.filter(pk__in=list(experiment_ids), notified_at__isnull=True)
        .filter(has_jobs, none_unfinished)
        .values_list("pk", flat=True)
    )
    claimed = []
    for experiment_id in candidates:
        with transaction.atomic():
            if claim_notification(experiment_id):
                claimed.append(experiment_id)
                transaction.on_commit(lambda pk=experiment_id: send_experiment_mail(pk))
    return claimed


def on_jobs_changed(sender: Any, experiment_ids: Iterable[int] = (), **kwargs: Any) -> None:
    if experiment_ids:
        notify_ended(experiment_ids)


def best_job(experiment: Experiment) -> tuple[int | None, float] | None:
    """(job id, value) of the succeeded job with the best objective metric, if any."""
    if not experiment.objective:
        return None
    sign = -1.0 if experiment.objective_order == "min" else 1.0
    best: tuple[int | None, float] | None = None
    rows = Result.objects.filter(experiment=experiment, status=JobStatus.SUCCEEDED).values_list(
        "job_id", "metrics"
    )
    for job_id, metrics in rows.iterator(chunk_size=2000):
        value = (metrics or {}).get(experiment.objective)
        if not isinstance(value, int | float) or isinstance(value, bool) or math.isnan(value):
            continue
        if best is None or sign * value > sign * best[1]:
            best = (job_id, float(value))
    return best


def compose(experiment: Experiment) -> tuple[str, str]:
    """Subject and body of the e-mail about an experiment that ended."""
    counts = job_counts(experiment)
    status = derive_status(counts)
    name = experiment.name or f"experiment {experiment.pk}"
    link = f"{settings.PETRI_PUBLIC_URL}/experiments/{experiment.pk}"
    lines = [
        f"Your experiment {name} ({experiment.algorithm.name}) has {status}.",
        "",
        f"{sum(counts.values())} jobs: "
        + ", ".join(f"{n} {s}" for s, n in counts.items() if n and s in FINAL_STATUSES),
    ]
    best = best_job(experiment)
    if best is not None:
        job_id, value = best
        lines.append(
            f"Best job by {experiment.objective} ({experiment.objective_order}): "
            f"job {job_id}, {experiment.objective} = {value:g}"
        )
    lines += ["", f"Results: {link}", "", "You can turn these e-mails off in your settings."]
    return f"Petri: {name} {status}", "\n".join(lines) + "\n"


def send_experiment_mail(experiment_id: int) -> bool:
    """Send the e-mail unless the owner opted out or has no address; True when sent."""
    experiment = Experiment.objects.select_related("owner", "algorithm").get(pk=experiment_id)
    owner = experiment.owner
    if not owner.email or not profile_of(owner).email_notifications:
        return False
    subject, body = compose(experiment)
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [owner.email])
    except Exception:  # a mail server down must not fail the scheduler or the runner's call
        log.exception("could not e-mail %s about experiment %s", owner.email, experiment_id)
        return False
    return True
