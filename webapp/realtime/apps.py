"""Connects the job domain's announcements to the websocket broadcaster, and revocations
(tokens, shares, accounts, sessions) to the re-check of open websockets."""

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
        signals.pipeline_changed.connect(
            events.on_pipeline_changed, dispatch_uid="realtime-pipeline"
        )

        from django.contrib.auth import get_user_model
        from django.contrib.auth.signals import user_logged_out
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from jobs.models import Experiment
        from webapp.accounts.models import ApiToken
        from webapp.realtime import access

        post_delete.connect(access.recheck_soon, sender=ApiToken, dispatch_uid="realtime-token")
        m2m_changed.connect(
            access.on_shares_removed,
            sender=Experiment.shared_with.through,
            dispatch_uid="realtime-shares",
        )
        post_save.connect(access.on_user_saved, sender=get_user_model(), dispatch_uid="rt-user")
        user_logged_out.connect(access.recheck_soon, dispatch_uid="realtime-logout")
