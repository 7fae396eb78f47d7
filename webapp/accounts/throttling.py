"""Sign-in throttling (django-axes): who a client is, and what a locked-out client is told."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse


def retry_after_seconds() -> int:
    """The cool-off; every failure while locked out starts it again, so it is the whole of it."""
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


def lockout_message() -> str:
    return f"too many failed sign-ins; try again in {retry_after_seconds()} seconds"


def lockout_response(request: HttpRequest, *_: Any) -> HttpResponse:
    """429 with Retry-After: JSON for the API, plain text for the HTML sign-in pages."""
    # axes calls this with (request, response, credentials) or, from async code, two args.
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(
            {"detail": lockout_message(), "code": "throttled"}, status=429
        )
    else:
        response = HttpResponse(lockout_message(), status=429, content_type="text/plain")
    response["Retry-After"] = str(retry_after_seconds())
    return response


def client_address(request: HttpRequest) -> str:
    """REMOTE_ADDR; behind the TLS proxy, the address that proxy appended to X-Forwarded-For.

    Only the right-most entry is the proxy's own: anything left of it the client may have sent.
    """
    remote = request.META.get("REMOTE_ADDR", "") or ""
    if settings.PETRI_BEHIND_TLS_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-1]
    return remote
