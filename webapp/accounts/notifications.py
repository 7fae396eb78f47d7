"""E-mail the owner when an experiment ends, without holding up whoever saw it end.

jobs/services/ended.py decides that an experiment ended (once, ever) and announces
``experiment_ended`` after commit. The message is composed from the database at once, in the
announcing thread; the SMTP conversation runs in a background thread, so neither the runner's
HTTP request nor the scheduler's tick waits on a mail server. A process that dies while a send
is in flight loses that one e-mail (the claim is not undone): the price of not queueing it.
"""

from __future__ import annotations

import logging
import math
import threading
from typing import Any

from django.conf import settings
from django.core.mail import send_mail

from jobs.models import FINAL_STATUSES, Experiment, JobStatus, Result
from jobs.status import derive_status, job_counts
from webapp.accounts.services import profile_of

log = logging.getLogger(__name__)
_sending: list[threading.Thread] = []
_sending_lock = threading.Lock()


def on_experiment_ended(sender: Any, experiment_id: int, **kwargs: Any) -> None:
    message = experiment_mail(experiment_id)
    if message is None:
        return
    thread = threading.Thread(
        target=_send, args=message, name=f"petri-mail-{experiment_id}", daemon=True
    )
    with _sending_lock:
        _sending[:] = [t for t in _sending if t.is_alive()]
        _sending.append(thread)
    thread.start()


def wait_for_mail(timeout: float = 30.0) -> None:
    """Block until the e-mails being sent have gone (tests; a process about to exit)."""
    with _sending_lock:
        threads = list(_sending)
    for thread in threads:
        thread.join(timeout)


def _send(subject: str, body: str, recipient: str) -> None:
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [recipient])
    except Exception:  # a mail server down must not go unnoticed, nor crash anything
        log.exception("could not e-mail %s: %s", recipient, subject)


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


def experiment_mail(experiment_id: int) -> tuple[str, str, str] | None:
    """(subject, body, recipient), or None when the owner opted out or has no address."""
    experiment = Experiment.objects.select_related("owner", "algorithm").get(pk=experiment_id)
    owner = experiment.owner
    if not owner.email or not profile_of(owner).email_notifications:
        return None
    subject, body = compose(experiment)
    return subject, body, owner.email
