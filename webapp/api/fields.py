"""Serializer fields for the rules of jobs.validators, shared by the users' and runners' APIs."""

from __future__ import annotations

from rest_framework import serializers

from jobs.validators import FLOAT_LIMIT, NUL

MAX_METRICS = 1000
MAX_METRIC_NAME = 200


class MetricsField(serializers.DictField):
    """``{name: number}``: names without NUL, at most 200 characters; finite numbers."""

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "child", serializers.FloatField(min_value=-FLOAT_LIMIT, max_value=FLOAT_LIMIT)
        )
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        metrics = super().to_internal_value(data)
        if len(metrics) > MAX_METRICS:
            raise serializers.ValidationError(f"at most {MAX_METRICS} metrics")
        for name in metrics:
            if not name or len(name) > MAX_METRIC_NAME or NUL in name:
                raise serializers.ValidationError(
                    f"{name[:50]!r} is not a metric name (1 to {MAX_METRIC_NAME} characters, "
                    "no NUL)".replace(NUL, "\\x00")
                )
        return metrics
