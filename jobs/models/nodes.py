"""What the scheduler last saw of its backend's nodes, for the web app to show."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class BackendNode(models.Model):
    """One node of a backend as a scheduler published it at its last reconcile."""

    backend = models.CharField(max_length=40)
    name = models.CharField(max_length=253)
    published_by = models.CharField(max_length=200, help_text="the scheduler that saw it")
    published_at = models.DateTimeField(default=timezone.now)
    cpu_allocatable = models.FloatField(help_text="cores")
    cpu_requested = models.FloatField(help_text="cores requested by running attempts or pods")
    memory_allocatable = models.BigIntegerField(help_text="bytes")
    memory_requested = models.BigIntegerField(help_text="bytes")
    gpu_allocatable = models.IntegerField(default=0)
    gpu_requested = models.IntegerField(default=0)
    labels = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["backend", "name"]
        constraints = [
            models.UniqueConstraint(fields=["backend", "name"], name="backendnode_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.backend})"
