"""The single-page web app: one index.html for every client-side route; the SPA does the rest."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_safe

# First path segments the SPA routes on the client; everything else stays Django's.
CLIENT_ROUTES = (
    "login",
    "experiments",
    "jobs",
    "datasets",
    "algorithms",
    "nodes",
    "usage",
    "account",
    "schedules",
    "pipelines",
)

NOT_BUILT = """<!doctype html><meta charset="utf-8"><title>Petri</title>
<h1>The web app is not built</h1>
<p>Run <code>make frontend</code> (or <code>make up</code>), then reload.
The API is at <a href="/api/docs/">/api/docs/</a>.</p>
"""


@require_safe
@never_cache
@ensure_csrf_cookie
def spa(request, route: str = ""):
    """Serve the built index.html; the browser router picks the page from the URL."""
    index = settings.FRONTEND_DIST / "index.html"
    try:
        body = index.read_bytes()
    except FileNotFoundError:
        return HttpResponse(NOT_BUILT, status=503)
    return HttpResponse(body, content_type="text/html; charset=utf-8")
