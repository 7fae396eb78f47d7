"""Connects the job domain's announcements to the websocket broadcaster."""

from __future__ import annotations

from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "webapp.realtime"
    label = "realtime"
    verbose_name = "Live updates"

    def ready(self) -> None:
        from jobs import signals
        from webapp.realtime import events

        signals.jobs_changed.connect(events.on_jobs_changed, dispatch_uid="realtime-jobs")
        signals.job_logged.connect(events.on_job_logged, dispatch_uid="realtime-log")
        signals.job_measured.connect(events.on_job_measured, dispatch_uid="realtime-metric")
