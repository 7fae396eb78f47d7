from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from webapp.api.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/", include("webapp.api.urls")),
    path("", RedirectView.as_view(url="/api/docs/", permanent=False)),
]
