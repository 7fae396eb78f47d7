"""The operators' view of recurring runs; their schedules are beat's Periodic tasks."""

from __future__ import annotations

from django.contrib import admin

from jobs.models import RecurringFiring, RecurringRun


class FiringInline(admin.TabularInline):
    model = RecurringFiring
    fields = ["slot", "fired_at", "experiment", "skipped"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-slot"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(RecurringRun)
class RecurringRunAdmin(admin.ModelAdmin):
    list_display = ["id", "owner", "experiment", "periodic_task", "enabled", "newest_datasets"]
    list_select_related = ["owner", "experiment", "periodic_task"]
    raw_id_fields = ["owner", "experiment", "periodic_task"]
    inlines = [FiringInline]

    @admin.display(boolean=True, ordering="periodic_task__enabled")
    def enabled(self, run: RecurringRun) -> bool:
        return run.periodic_task.enabled
