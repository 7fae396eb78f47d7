"""The operators' usage report: totals per user and month, on screen and as CSV."""

from __future__ import annotations

import csv
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path

from jobs.models import UsageRecord
from jobs.services.usage import USAGE_COLUMNS, monthly_usage


def csv_response(rows: list[dict[str, Any]], filename: str = "petri-usage.csv") -> HttpResponse:
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.DictWriter(response, fieldnames=USAGE_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return response


@admin.register(UsageRecord)
class UsageRecordAdmin(admin.ModelAdmin):
    """One row per finished attempt (read-only); the report sums them per user and month."""

    list_display = [
        "user",
        "month",
        "job",
        "attempt",
        "seconds",
        "cpu",
        "gpu",
        "memory_gb",
        "cpu_seconds",
        "gpu_seconds",
        "memory_gb_seconds",
        "finished_at",
    ]
    list_filter = ["month", "user"]
    search_fields = ["user__username"]
    list_select_related = ["user"]
    date_hierarchy = "finished_at"
    change_list_template = "admin/jobs/usagerecord/change_list.html"
    actions = ["export_per_user_and_month"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self):
        report = self.admin_site.admin_view(self.report_view)
        return [path("report/", report, name="jobs_usagerecord_report"), *super().get_urls()]

    @admin.action(description="Export the selected records per user and month (CSV)")
    def export_per_user_and_month(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        return csv_response(monthly_usage(queryset))

    def report_view(self, request: HttpRequest) -> HttpResponse:
        """Totals per user and month; ``?month=YYYY-MM`` narrows it, ``?format=csv`` exports."""
        records = UsageRecord.objects.all()
        month = request.GET.get("month", "")
        if month:
            try:
                year, number = (int(part) for part in month.split("-"))
                records = records.filter(month__year=year, month__month=number)
            except ValueError:
                self.message_user(request, "month must be YYYY-MM", level="error")
                month = ""
        rows = monthly_usage(records)
        if request.GET.get("format") == "csv":
            return csv_response(rows, f"petri-usage-{month or 'all'}.csv")
        months = sorted({m.strftime("%Y-%m") for m in UsageRecord.objects.dates("month", "month")})
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Usage per user and month",
            "rows": rows,
            "columns": USAGE_COLUMNS,
            "months": months[::-1],
            "month": month,
        }
        return TemplateResponse(request, "admin/jobs/usagerecord/report.html", context)
