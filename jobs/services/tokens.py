"""Per-attempt runner tokens: derived from the job and attempt, stored hashed, dead once it ends.

Deriving the token (instead of drawing it at random) lets a scheduler that crashed mid-dispatch
hand the very same token to the backend again, so an already created runner keeps working.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings

from jobs.models import RUNNER_STATUSES, Job


def runner_token(job_id: int, attempt: int, key: bytes | None = None) -> str:
    """The attempt's token; a caller deriving many passes ``token_key()`` once for all."""
    message = f"petri-runner:{job_id}:{attempt}".encode()
    digest = hmac.digest(key or token_key(), message, "sha256").hex()
    return f"{job_id}.{attempt}.{digest}"


def token_key() -> bytes:
    return settings.SECRET_KEY.encode()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def job_for_runner_token(token: str) -> Job | None:
    """The job whose current, live attempt this token belongs to; None for anything else."""
    try:
        job_part, attempt_part, _ = token.split(".", 2)
        job_id, attempt = int(job_part), int(attempt_part)
    except ValueError:
        return None
    # The job's row alone, by get() (no ORDER BY): every runner call pays for building this
    # query, and most need nothing else; the few that do load the experiment when they use it.
    try:
        job = Job.objects.get(pk=job_id)
    except Job.DoesNotExist:
        return None
    if job.attempt != attempt or job.status not in RUNNER_STATUSES:
        return None
    if not job.runner_token_hash or not hmac.compare_digest(
        job.runner_token_hash, hash_token(token)
    ):
        return None
    return job
