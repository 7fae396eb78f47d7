"""Pipelines in the operators' console: read-only, with cancel, retry and advance actions."""

from __future__ import annotations

from django.contrib import admin

from jobs import services
from jobs.errors import Conflict
from jobs.models import Pipeline, Stage


class StageInline(admin.TabularInline):
    model = Stage
    fields = ["name", "kind", "algorithm", "status", "needs", "on_failure", "error", "finished_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Pipeline)
class PipelineAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "owner", "status", "created_at", "finished_at"]
    list_filter = ["status"]
    search_fields = ["name", "owner__username"]
    readonly_fields = ["owner", "name", "status", "spec", "created_at", "finished_at"]
    inlines = [StageInline]
    actions = ["cancel_pipelines", "retry_pipelines", "advance_pipelines"]

    def has_add_permission(self, request):
        return False

    def _each(self, request, queryset, action, done: str) -> None:
        count = 0
        for pipeline in queryset:
            try:
                action(pipeline)
                count += 1
            except Conflict:
                continue
        self.message_user(request, f"{count} pipelines {done}.")

    @admin.action(description="Cancel the selected running pipelines")
    def cancel_pipelines(self, request, queryset):
        self._each(request, queryset, services.cancel_pipeline, "cancelled")

    @admin.action(description="Retry the selected failed or cancelled pipelines")
    def retry_pipelines(self, request, queryset):
        self._each(request, queryset, services.retry_pipeline, "retried")

    @admin.action(description="Advance the selected pipelines (start the stages now ready)")
    def advance_pipelines(self, request, queryset):
        self._each(request, queryset, lambda p: services.advance_pipeline(p.pk), "advanced")
