"""``GET /api/usage/``: what a user's finished attempts used, per month."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs.errors import InvalidInput
from jobs.models import UsageRecord
from jobs.services.usage import monthly_usage, parse_month


class UsageMonthSerializer(serializers.Serializer):
    user = serializers.CharField()
    month = serializers.CharField(help_text="YYYY-MM")
    attempts = serializers.IntegerField()
    seconds = serializers.FloatField(help_text="run time of the attempts")
    cpu_seconds = serializers.FloatField()
    gpu_seconds = serializers.FloatField()
    memory_gb_seconds = serializers.FloatField(help_text="GiB requested times seconds")
    cpu_hours = serializers.FloatField()
    gpu_hours = serializers.FloatField()
    memory_gb_hours = serializers.FloatField()


class UsageView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("user", str, description="staff only: another user's username"),
            OpenApiParameter("month", str, description="YYYY-MM: that month only"),
        ],
        responses=UsageMonthSerializer(many=True),
    )
    def get(self, request):
        """Your usage per month, newest first; staff may ask for anyone's (``?user=``)."""
        records = UsageRecord.objects.all()
        wanted = request.query_params.get("user")
        if wanted and wanted != request.user.get_username():
            if not request.user.is_staff:
                return Response({"detail": "only staff may read other users' usage"}, 403)
            found = get_user_model().objects.filter(username=wanted).first()
            if found is None:
                raise InvalidInput({"user": [f"no user named {wanted!r}"]})
            records = records.filter(user=found)
        else:
            records = records.filter(user=request.user)
        month = request.query_params.get("month")
        if month:
            try:
                records = records.filter(month=parse_month(month))
            except ValueError as exc:
                raise InvalidInput({"month": [str(exc)]}) from None
        return Response(monthly_usage(records))
