from __future__ import annotations

from django.contrib import admin
from django.utils import timezone

from scheduler.models import SchedulerReplica


@admin.register(SchedulerReplica)
class SchedulerReplicaAdmin(admin.ModelAdmin):
    list_display = [
        "identity",
        "backend",
        "started_at",
        "last_seen_at",
        "seconds_since_heartbeat",
        "stopped_at",
        "dispatched",
    ]
    readonly_fields = list_display

    def has_add_permission(self, request):
        return False

    @admin.display(description="seconds since last heartbeat", ordering="-last_seen_at")
    def seconds_since_heartbeat(self, obj: SchedulerReplica) -> int:
        # A live replica beats every 10 s (scheduler/loop.py); much more means it is gone.
        return int((timezone.now() - obj.last_seen_at).total_seconds())
