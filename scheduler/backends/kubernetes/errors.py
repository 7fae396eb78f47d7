"""What a failed Kubernetes API request means for an attempt: try later, or give up."""

from __future__ import annotations

import json

import urllib3
from kubernetes.client.exceptions import ApiException

from scheduler.backends.base import BackendError, BackendRefused, BackendUnavailable

API_ERRORS = (ApiException, urllib3.exceptions.HTTPError, OSError)
# Answers that say "not now" rather than "no": throttled, the server or a proxy in trouble.
TRANSIENT_STATUSES = frozenset({401, 408, 425, 429, 500, 502, 503, 504})


def explain(exc: Exception) -> str:
    if isinstance(exc, ApiException):
        try:
            message = json.loads(exc.body or "{}").get("message", "")
        except (ValueError, AttributeError):
            message = ""
        return f"{exc.status} {exc.reason}" + (f": {message}" if message else "")
    return f"cannot reach the Kubernetes API: {exc}"


def _retry_after(exc: ApiException) -> float | None:
    value = (exc.headers or {}).get("Retry-After") if exc.headers else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def api_failure(exc: Exception, doing: str) -> BackendError:
    """Transient trouble becomes BackendUnavailable (nothing decided), anything else a refusal
    carrying the server's own message."""
    message = f"{doing}: {explain(exc)}"
    if not isinstance(exc, ApiException) or exc.status in TRANSIENT_STATUSES or not exc.status:
        return BackendUnavailable(
            message, _retry_after(exc) if isinstance(exc, ApiException) else None
        )
    if exc.status == 403 and "exceeded quota" in (exc.body or ""):
        return BackendUnavailable(message)  # a ResourceQuota frees up as Jobs finish
    if exc.status in (400, 403, 422):
        return BackendRefused(message)
    return BackendError(message)
