"""Query jobs by their metrics and parameters: `shd__lt:5` filters, `-metrics__f1` ordering.

Metrics are a JSON object on Result; one key is read as text and cast to a float, which
SQLite (JSON_EXTRACT) and Postgres (->>, double precision) both do inside the query.
Parameters are a JSON object on Job: ordered by the JSON value itself (numbers numerically on
both databases), filtered as numbers, or as text for `eq` with a value that is no number.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from django.db.models import DurationField, Expression, ExpressionWrapper, F, FloatField, QuerySet
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast

from jobs.errors import InvalidInput
from jobs.validators import NUL

OPERATORS = {"lt": "lt", "lte": "lte", "gt": "gt", "gte": "gte", "eq": "exact"}
METRIC_PREFIX = "metrics__"
PARAMETER_PREFIX = "parameters__"
RUNTIME = "runtime"
MAX_NAME = 100


def metric_value(name: str, metrics_field: str = "result__metrics") -> Expression:
    """The metric as a float (NULL when the job has no such metric)."""
    # KeyTextTransform takes the key whole, so names with '__' or dots stay one key.
    return Cast(KeyTextTransform(name, metrics_field), FloatField())


def _check_name(name: str, field: str, raw: str) -> str:
    if not name or len(name) > MAX_NAME or NUL in name:
        raise InvalidInput({field: [f"{raw[:200]!r} names no metric"]})
    return name


def _split_condition(raw: str, field: str) -> tuple[str, str, str]:
    usage = f"{raw!r} is not name__op:value with op one of {', '.join(OPERATORS)} (e.g. shd__lt:5)"
    left, colon, value_text = raw.rpartition(":")
    name, sep, op = left.rpartition("__")
    if not colon or not sep or op not in OPERATORS:
        raise InvalidInput({field: [usage]})
    return _check_name(name, field, raw), op, value_text


def _number(raw: str, value_text: str, field: str) -> float | None:
    try:
        value = float(value_text)
    except ValueError:
        return None
    if not math.isfinite(value):
        raise InvalidInput({field: [f"{raw!r}: the value must be a finite number"]})
    return value


def parse_condition(raw: str, field: str = "metric") -> tuple[str, str, float]:
    """'shd__lt:5' -> ('shd', 'lt', 5.0); InvalidInput naming `field` otherwise."""
    name, op, value_text = _split_condition(raw, field)
    value = _number(raw, value_text, field)
    if value is None:
        usage = f"{raw!r} is not name__op:value with op one of {', '.join(OPERATORS)}"
        raise InvalidInput({field: [f"{usage} and a numeric value"]})
    return name, op, value


def filter_by_metrics(queryset: QuerySet, conditions: Iterable[str]) -> QuerySet:
    """Keep rows meeting every condition; rows without the metric never match."""
    for i, raw in enumerate(conditions):
        name, op, value = parse_condition(raw)
        alias = f"_metric_filter_{i}"
        queryset = queryset.alias(**{alias: metric_value(name)}).filter(
            **{f"{alias}__{OPERATORS[op]}": value}
        )
    return queryset


def filter_by_parameters(queryset: QuerySet, conditions: Iterable[str]) -> QuerySet:
    """`alpha__lt:0.1`, `method__eq:fisherz`; rows without the parameter never match."""
    for i, raw in enumerate(conditions):
        name, op, value_text = _split_condition(raw, "param")
        alias = f"_param_filter_{i}"
        number = _number(raw, value_text, "param")
        if number is not None:
            value: Expression = Cast(KeyTextTransform(name, "parameters"), FloatField())
            queryset = queryset.alias(**{alias: value}).filter(
                **{f"{alias}__{OPERATORS[op]}": number}
            )
        elif op == "eq":
            text = KeyTextTransform(name, "parameters")
            queryset = queryset.alias(**{alias: text}).filter(**{alias: value_text})
        else:
            raise InvalidInput({"param": [f"{raw!r}: {op} needs a numeric value"]})
    return queryset


def sortable(term: str) -> bool:
    """Whether ordering_term takes `term` (other terms are the view's plain fields)."""
    path = term.removeprefix("-")
    return path == RUNTIME or path.startswith((METRIC_PREFIX, PARAMETER_PREFIX))


def ordering_term(term: str, field: str = "ordering") -> Expression | None:
    """'-metrics__shd', 'parameters__alpha', 'runtime' -> an ORDER BY with missing values last.

    None for any other term. Missing values go last in both directions.
    """
    descending = term.startswith("-")
    path = term.removeprefix("-")
    value: Expression
    if path.startswith(METRIC_PREFIX):
        value = metric_value(_check_name(path.removeprefix(METRIC_PREFIX), field, term))
    elif path.startswith(PARAMETER_PREFIX):
        name = _check_name(path.removeprefix(PARAMETER_PREFIX), field, term)
        value = KeyTransform(name, "parameters")
    elif path == RUNTIME:
        value = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    else:
        return None
    return value.desc(nulls_last=True) if descending else value.asc(nulls_last=True)


def rank_by_metric(queryset: QuerySet, name: str, order: str) -> QuerySet:
    """Best first for `order` ('min' or 'max'), jobs without the metric last, then by id."""
    value = metric_value(_check_name(name, "metric", name))
    best = value.asc(nulls_last=True) if order == "min" else value.desc(nulls_last=True)
    return queryset.order_by(best, F("id").asc())
