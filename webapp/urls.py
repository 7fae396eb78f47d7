from __future__ import annotations

from django.contrib import admin
from django.urls import include, path, re_path

from webapp.api.views import healthz, readyz
from webapp.metrics import metrics_view
from webapp.web import CLIENT_ROUTES, spa

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("metrics", metrics_view, name="metrics"),
    path("api/", include("webapp.api.urls")),
    # The web app: index.html at / and at every client-side route.
    path("", spa, name="web"),
    re_path(rf"^(?P<route>(?:{'|'.join(CLIENT_ROUTES)})(?:/.*)?)$", spa, name="web-route"),
]
