from __future__ import annotations

from django.contrib import admin

from scheduler.models import SchedulerReplica


@admin.register(SchedulerReplica)
class SchedulerReplicaAdmin(admin.ModelAdmin):
    list_display = ["identity", "backend", "started_at", "last_seen_at", "stopped_at", "dispatched"]
    readonly_fields = list_display

    def has_add_permission(self, request):
        return False
