"""The operators' console for people: users, groups, their quotas and tokens."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce

from jobs.models import BACKEND_STATUSES, Job, JobStatus, Quota
from webapp.accounts import services
from webapp.accounts.models import ApiToken, Profile

QUOTA_FIELDS = [
    "backend",
    "max_running",
    "max_cpu",
    "max_gpu",
    "cpu_hours_per_month",
    "gpu_hours_per_month",
]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "expires_at"]
    list_filter = ["user"]
    readonly_fields = ["prefix", "key_hash", "created_at", "last_used_at"]
    search_fields = ["name", "user__username"]

    def has_add_permission(self, request):
        # A key is only shown when issued through the API or `manage.py`, never stored.
        return False


class ProfileInline(admin.StackedInline):
    model = Profile
    can_delete = False
    fields = ["approved", "email_notifications"]


class UserQuotaInline(admin.StackedInline):
    model = Quota
    fk_name = "user"
    fields = QUOTA_FIELDS
    extra = 0
    verbose_name_plural = (
        "quotas: one for all backends together (empty backend) and one per backend at most "
        "(empty fields: no limit of the user's own)"
    )


class GroupQuotaInline(UserQuotaInline):
    fk_name = "group"
    verbose_name_plural = "quotas (each bounds the members' jobs together)"


def _jobs_in(statuses: tuple[str, ...]) -> Subquery:
    # A correlated count per listed user, served by the partial queue indexes on job rows,
    # instead of a join that would group every job of every user.
    rows = (
        Job.objects.filter(owner=OuterRef("pk"), status__in=statuses)
        .order_by()
        .values("owner")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(rows), 0)


admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class PetriUserAdmin(UserAdmin):
    """Users with their profile, quota and queue depth; approve accounts waiting at sign-up."""

    inlines = [ProfileInline, UserQuotaInline]
    list_display = [
        "username",
        "email",
        "is_active",
        "approved",
        "is_staff",
        "waiting_jobs",
        "running_jobs",
        "last_login",
    ]
    list_filter = ["profile__approved", "is_active", "is_staff", "groups"]
    actions = ["approve"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("profile")
            .annotate(
                waiting_count=_jobs_in((JobStatus.WAITING,)),
                running_count=_jobs_in(tuple(BACKEND_STATUSES)),
            )
        )

    @admin.display(boolean=True, ordering="profile__approved")
    def approved(self, obj) -> bool:
        profile = getattr(obj, "profile", None)
        return profile.approved if profile is not None else True

    @admin.display(description="waiting", ordering="waiting_count")
    def waiting_jobs(self, obj) -> int:
        return obj.waiting_count

    @admin.display(description="on a backend", ordering="running_count")
    def running_jobs(self, obj) -> int:
        return obj.running_count

    @admin.action(description="Approve the selected accounts (let them sign in)")
    def approve(self, request, queryset):
        approved = services.approve_users(queryset)
        self.message_user(request, f"{approved} accounts approved.")


@admin.register(Group)
class PetriGroupAdmin(GroupAdmin):
    inlines = [GroupQuotaInline]
