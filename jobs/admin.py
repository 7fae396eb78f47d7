"""The operators' console: jobs are read-only; cancel and retry go through the services."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm

from jobs import services
from jobs.errors import Conflict, InvalidInput
from jobs.models import (
    Algorithm,
    Artifact,
    Dataset,
    Experiment,
    Job,
    JobEvent,
    OutputFile,
    Quota,
    RemoteDatabase,
    Result,
)
from jobs.services.remote import check_registered_role
from jobs.status import annotated_counts, derive_status, is_searching, with_job_counts


@admin.register(Algorithm)
class AlgorithmAdmin(admin.ModelAdmin):
    list_display = ["name", "title", "language", "dataset_input", "enabled", "synced_at"]
    list_filter = ["enabled", "language"]
    search_fields = ["name", "title"]
    readonly_fields = ["synced_at"]


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "rows", "size", "created_at"]
    list_filter = ["owner"]
    search_fields = ["name", "sha256"]
    readonly_fields = ["sha256", "size", "columns", "rows", "created_at"]


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "owner", "algorithm", "job_count", "status", "created_at"]
    list_filter = ["algorithm", "owner"]
    search_fields = ["name"]
    readonly_fields = ["job_count", "created_at", "parameters", "resources"]
    actions = ["cancel_experiments"]

    def get_queryset(self, request):
        return with_job_counts(super().get_queryset(request))

    @admin.display(description="status")
    def status(self, obj: Experiment) -> str:
        return derive_status(annotated_counts(obj), is_searching(obj))

    @admin.action(description="Cancel the unfinished jobs of the selected experiments")
    def cancel_experiments(self, request, queryset):
        affected = 0
        for experiment in queryset:
            try:
                affected += services.cancel_experiment(experiment)
            except Conflict:
                continue
        self.message_user(request, f"{affected} jobs cancelled or cancelling.")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PriorityActionForm(ActionForm):
    """The action bar of jobs, with the number "Set the priority" applies."""

    priority = forms.IntegerField(required=False, help_text="for “Set the priority”")


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "experiment",
        "owner",
        "status",
        "attempt",
        "priority",
        "failure_reason",
        "wait_reason",
        "scheduler",
        "handle",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status", "failure_reason", "backend", "scheduler"]
    search_fields = ["id", "handle"]
    list_select_related = ["experiment", "owner"]
    actions = ["cancel_jobs", "retry_jobs", "set_priority"]
    action_form = PriorityActionForm

    def _apply(self, request, queryset, action, verb: str) -> None:
        done, refused = 0, []
        for job in queryset:
            try:
                action(job)
                done += 1
            except Conflict as exc:
                refused.append(str(exc))
        self.message_user(request, f"{done} jobs {verb}.")
        if refused:
            self.message_user(request, "; ".join(refused[:10]), level=messages.WARNING)

    @admin.action(description="Cancel the selected jobs")
    def cancel_jobs(self, request, queryset):
        self._apply(request, queryset, services.cancel_job, "cancelled")

    @admin.action(description="Retry the selected jobs (failed or cancelled)")
    def retry_jobs(self, request, queryset):
        self._apply(request, queryset, services.retry_job, "queued again")

    @admin.action(description="Set the priority of the selected waiting jobs")
    def set_priority(self, request, queryset):
        priority = request.POST.get("priority", "").strip()
        try:
            value = int(priority)
        except ValueError:
            self.message_user(request, "Give the new priority as a whole number.", messages.ERROR)
            return
        changed = services.change_priority(queryset.values_list("pk", flat=True), value)
        self.message_user(request, f"{changed} waiting jobs now have priority {value}.")


@admin.register(JobEvent)
class JobEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "job", "attempt", "kind", "time"]
    list_filter = ["kind"]


@admin.register(Result)
class ResultAdmin(ReadOnlyAdmin):
    list_display = ["job", "attempt", "status", "metrics", "created_at"]


@admin.register(OutputFile)
class OutputFileAdmin(ReadOnlyAdmin):
    list_display = ["job", "attempt", "name", "size", "created_at"]


@admin.register(Quota)
class QuotaAdmin(admin.ModelAdmin):
    """Per-user and per-group limits the scheduler applies inside its claim."""

    list_display = [
        "__str__",
        "backend",
        "max_running",
        "max_cpu",
        "max_gpu",
        "cpu_hours_per_month",
        "gpu_hours_per_month",
    ]
    search_fields = ["user__username", "group__name"]
    list_filter = ["backend"]
    autocomplete_fields = ["user", "group"]


class RemoteDatabaseForm(forms.ModelForm):
    """The password can be set or replaced here, never read back."""

    password = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="leave empty to keep the current password",
    )

    class Meta:
        model = RemoteDatabase
        fields = [
            "name",
            "engine",
            "host",
            "port",
            "database",
            "user",
            "password",
            "row_cap",
            "statement_timeout",
            "enabled",
        ]

    def clean_password(self) -> str:
        given = self.cleaned_data.get("password") or ""
        if not given and self.instance.pk:
            return RemoteDatabase.objects.get(pk=self.instance.pk).password
        return given

    def clean(self) -> dict:
        cleaned = super().clean()
        self.role_warnings: list[str] = []
        if self.errors:
            return cleaned
        candidate = RemoteDatabase(**{k: cleaned.get(k) for k in self.Meta.fields})
        try:
            self.role_warnings = check_registered_role(candidate)
        except InvalidInput as exc:
            for name, messages_ in exc.errors.items():
                self.add_error(name if name in self.fields else None, messages_)
        return cleaned


@admin.register(RemoteDatabase)
class RemoteDatabaseAdmin(admin.ModelAdmin):
    """Databases users may define datasets on; give Petri a read-only account on them."""

    form = RemoteDatabaseForm
    list_display = ["name", "engine", "host", "port", "database", "user", "row_cap", "enabled"]
    list_filter = ["engine", "enabled"]
    search_fields = ["name", "host", "database"]

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        for warning in getattr(form, "role_warnings", []):
            messages.warning(request, warning)


@admin.register(Artifact)
class ArtifactAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "kind", "size", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name", "sha256", "owner__username"]
    readonly_fields = ["sha256", "size", "kind", "created_at"]


# The usage report, recurring runs and pipelines live in their own modules; importing them
# registers them.
from jobs import pipeline_admin, recurring_admin, usage_admin  # noqa: E402, F401
