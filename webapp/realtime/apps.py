"""Live updates: the job domain's announcements pushed to websockets that may see them."""

from __future__ import annotations

from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "webapp.realtime"

    def ready(self) -> None:
        # Their receivers connect on import: announcements (events) and revocations (access).
        from webapp.realtime import access, events  # noqa: F401
