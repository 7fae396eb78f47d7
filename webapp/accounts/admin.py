from __future__ import annotations

from django.contrib import admin

from webapp.accounts.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "created_at", "last_used_at"]
    list_filter = ["user"]
    readonly_fields = ["prefix", "key_hash", "created_at", "last_used_at"]
    search_fields = ["name", "user__username"]

    def has_add_permission(self, request):
        # A key is only shown when issued through the API or `manage.py`, never stored.
        return False
