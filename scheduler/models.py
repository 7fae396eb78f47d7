"""Scheduler replicas and when each was last seen, for operators."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class SchedulerReplica(models.Model):
    identity = models.CharField(max_length=200, unique=True)
    backend = models.CharField(max_length=40)
    started_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    stopped_at = models.DateTimeField(null=True, blank=True)
    dispatched = models.BigIntegerField(default=0, help_text="attempts handed to the backend")

    class Meta:
        ordering = ["-last_seen_at"]

    def __str__(self) -> str:
        return self.identity
