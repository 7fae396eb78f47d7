"""Query jobs by the metrics of their results: `shd__lt:5` filters, `-metrics__f1` ordering.

Metrics are a JSON object on Result; one key is read as text and cast to a float, which
SQLite (JSON_EXTRACT) and Postgres (->>, double precision) both do inside the query.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from django.db.models import Expression, F, FloatField, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from jobs.errors import InvalidInput

OPERATORS = {"lt": "lt", "lte": "lte", "gt": "gt", "gte": "gte", "eq": "exact"}
METRIC_PREFIX = "metrics__"
MAX_NAME = 100


def metric_value(name: str, metrics_field: str = "result__metrics") -> Expression:
    """The metric as a float (NULL when the job has no such metric)."""
    # KeyTextTransform takes the key whole, so names with '__' or dots stay one key.
    return Cast(KeyTextTransform(name, metrics_field), FloatField())


def _check_name(name: str, field: str, raw: str) -> str:
    if not name or len(name) > MAX_NAME:
        raise InvalidInput({field: [f"{raw!r} names no metric"]})
    return name


def parse_condition(raw: str) -> tuple[str, str, float]:
    """'shd__lt:5' -> ('shd', 'lt', 5.0); InvalidInput naming `metric` otherwise."""
    usage = f"{raw!r} is not name__op:value with op one of {', '.join(OPERATORS)} (e.g. shd__lt:5)"
    left, colon, value_text = raw.rpartition(":")
    name, sep, op = left.rpartition("__")
    if not colon or not sep or op not in OPERATORS:
        raise InvalidInput({"metric": [usage]})
    try:
        value = float(value_text)
    except ValueError:
        raise InvalidInput({"metric": [usage]}) from None
    if not math.isfinite(value):
        raise InvalidInput({"metric": [f"{raw!r}: the value must be a finite number"]})
    return _check_name(name, "metric", raw), op, value


def filter_by_metrics(queryset: QuerySet, conditions: Iterable[str]) -> QuerySet:
    """Keep rows meeting every condition; rows without the metric never match."""
    for i, raw in enumerate(conditions):
        name, op, value = parse_condition(raw)
        alias = f"_metric_filter_{i}"
        queryset = queryset.alias(**{alias: metric_value(name)}).filter(
            **{f"{alias}__{OPERATORS[op]}": value}
        )
    return queryset


def ordering_term(term: str, field: str = "ordering") -> Expression | None:
    """'-metrics__shd' -> an ORDER BY putting rows without the metric last; None if no metric."""
    descending = term.startswith("-")
    path = term.removeprefix("-")
    if not path.startswith(METRIC_PREFIX):
        return None
    name = _check_name(path.removeprefix(METRIC_PREFIX), field, term)
    value = metric_value(name)
    return value.desc(nulls_last=True) if descending else value.asc(nulls_last=True)


def rank_by_metric(queryset: QuerySet, name: str, order: str) -> QuerySet:
    """Best first for `order` ('min' or 'max'), jobs without the metric last, then by id."""
    value = metric_value(_check_name(name, "metric", name))
    best = value.asc(nulls_last=True) if order == "min" else value.desc(nulls_last=True)
    return queryset.order_by(best, F("id").asc())
