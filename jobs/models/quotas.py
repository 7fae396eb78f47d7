"""Limits on what each user or group may use, and what they used."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from jobs.models.queue import Experiment, Job


class Quota(models.Model):
    """Limits for one user or one group, set by operators; empty fields mean no limit here.

    A user is bound by their own quotas and by every group quota they fall under: one for all
    backends together, and one per backend where the operators set one.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="quotas",
    )
    group = models.ForeignKey(
        "auth.Group", null=True, blank=True, on_delete=models.CASCADE, related_name="quotas"
    )
    backend = models.CharField(
        max_length=40, blank=True, help_text="empty: all backends together; else only this one"
    )
    max_running = models.PositiveIntegerField(
        null=True, blank=True, help_text="jobs at once; empty: PETRI_USER_MAX_RUNNING for users"
    )
    max_cpu = models.FloatField(null=True, blank=True, help_text="CPU cores at once")
    max_gpu = models.PositiveIntegerField(null=True, blank=True, help_text="GPUs at once")
    cpu_hours_per_month = models.FloatField(null=True, blank=True)
    gpu_hours_per_month = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, group__isnull=True)
                | Q(user__isnull=True, group__isnull=False),
                name="quota_for_user_or_group",
            ),
            models.UniqueConstraint(
                fields=["user", "backend"],
                condition=Q(user__isnull=False),
                name="one_quota_per_user_and_backend",
            ),
            models.UniqueConstraint(
                fields=["group", "backend"],
                condition=Q(group__isnull=False),
                name="one_quota_per_group_and_backend",
            ),
        ]

    def __str__(self) -> str:
        return f"quota of {self.user or self.group}" + (
            f" on {self.backend}" if self.backend else ""
        )


class UsageRecord(models.Model):
    """What one finished attempt used: resources requested times run time."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL)
    experiment = models.ForeignKey(Experiment, null=True, blank=True, on_delete=models.SET_NULL)
    backend = models.CharField(max_length=40, blank=True)
    attempt = models.PositiveIntegerField()
    month = models.DateField(help_text="first day of the month the attempt finished in")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    seconds = models.FloatField()
    cpu = models.FloatField()
    gpu = models.PositiveIntegerField(default=0)
    memory_gb = models.FloatField()
    cpu_seconds = models.FloatField()
    gpu_seconds = models.FloatField()
    memory_gb_seconds = models.FloatField()

    class Meta:
        indexes = [models.Index(fields=["user", "month"], name="usage_user_month")]
        constraints = [
            models.UniqueConstraint(fields=["job", "attempt"], name="usage_once_per_attempt")
        ]

    def __str__(self) -> str:
        return f"usage of {self.user} for job {self.job_id}/{self.attempt}"
