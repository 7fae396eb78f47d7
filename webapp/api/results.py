"""Results on the users' API: metric queries, graphs, comparisons, summaries and exports.

Mixed into JobViewSet and ExperimentViewSet (views.py), so they share their scoping.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import renderers
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.filters import BaseFilterBackend, OrderingFilter
from rest_framework.response import Response

from jobs import graphs
from jobs.errors import InvalidInput
from jobs.metrics import filter_by_metrics, filter_by_parameters, ordering_term, sortable
from jobs.services import results
from webapp.api.exceptions import int_query_param


class MetricFilterBackend(BaseFilterBackend):
    """`?metric=shd__lt:5`, `?param=alpha__lt:0.1` and `?has_metric=shd`; all are AND-ed."""

    def filter_queryset(self, request, queryset, view):
        metrics = request.query_params.getlist("metric")
        parameters = request.query_params.getlist("param")
        for name in request.query_params.getlist("has_metric"):
            if not name.strip() or len(name) > 100 or "\x00" in name:
                raise InvalidInput({"has_metric": ["must be a metric's name"]})
            # Scored: its result holds the metric (the web app's "hide unscored jobs").
            queryset = queryset.filter(result__metrics__has_key=name)
        queryset = filter_by_metrics(queryset, metrics) if metrics else queryset
        return filter_by_parameters(queryset, parameters) if parameters else queryset

    def get_schema_operation_parameters(self, view):
        described = {
            "metric": "name__op:value, op one of lt, lte, gt, gte, eq; repeat to AND",
            "param": "a parameter's name__op:value (eq also takes text); repeat to AND",
            "has_metric": "only jobs that reported this metric; repeat to AND",
        }
        return [
            {
                "name": name,
                "in": "query",
                "required": False,
                "description": description,
                "schema": {"type": "array", "items": {"type": "string"}},
                "explode": True,
            }
            for name, description in described.items()
        ]


class MetricOrderingFilter(OrderingFilter):
    """Also takes `metrics__<name>`, `parameters__<name>` and `runtime` (missing values last)."""

    def filter_queryset(self, request, queryset, view):
        raw = request.query_params.get(self.ordering_param, "")
        terms = [term.strip() for term in raw.split(",") if term.strip()]
        if not any(sortable(term) for term in terms):
            return super().filter_queryset(request, queryset, view)
        allowed = {name for name, _ in self.get_valid_fields(queryset, view, {"request": request})}
        order: list[Any] = []
        for term in terms:
            expression = ordering_term(term)
            if expression is not None:
                order.append(expression)
            elif term.removeprefix("-") in allowed:
                order.append(term)
            else:
                raise InvalidInput({"ordering": [f"cannot order by {term!r}"]})
        return queryset.order_by(*order, "id")


class GraphMLRenderer(renderers.BaseRenderer):
    media_type = "application/graphml+xml"
    format = "graphml"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        request = (renderer_context or {}).get("request")
        not_a_graph = request is not None and request.method not in ("GET", "HEAD")
        if not_a_graph or (response is not None and response.status_code >= 400):
            # Errors stay JSON whatever format was asked for.
            response["Content-Type"] = "application/json"
            return renderers.JSONRenderer().render(data)
        return graphs.to_graphml(data)


class JobResultsMixin:
    """/api/jobs/<id>/graph/ and /api/jobs/<id>/compare/."""

    def perform_content_negotiation(self, request, force=False):
        """An unknown ``?format=`` is a 400 naming the formats there are, not a 404."""
        try:
            return super().perform_content_negotiation(request, force)
        except (Http404, NotFound):
            wanted = request.query_params.get("format")
            if wanted is None:
                raise
            formats = ", ".join(renderer.format for renderer in self.get_renderers())
            raise InvalidInput(
                {"format": [f"{wanted[:50]!r} is not a format here; choose one of: {formats}"]}
            ) from None

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=["json", "graphml"])],
        responses={
            (200, "application/json"): OpenApiTypes.OBJECT,
            (200, "application/graphml+xml"): OpenApiTypes.STR,
        },
    )
    @action(
        detail=True,
        methods=["get"],
        renderer_classes=[renderers.JSONRenderer, GraphMLRenderer],
    )
    def graph(self, request, pk=None, format=None):
        """The job's graph.json (nodes, typed and weighted edges, sepsets when given)."""
        job = self.get_object()
        output = results.graph_output(job)
        if output is None:
            raise NotFound(f"job {job.pk} wrote no graph.json")
        if request.accepted_renderer.format != "graphml":
            # The stored document itself: decoding and re-encoding it would double the time.
            return HttpResponse(results.graph_document(output), content_type="application/json")
        response = Response(results.load_graph(output))
        response["Content-Disposition"] = f'attachment; filename="job-{job.pk}.graphml"'
        return response

    @extend_schema(
        parameters=[
            OpenApiParameter("with", str, required=True, description="'truth' or a job id")
        ],
        responses=OpenApiTypes.OBJECT,
    )
    @action(detail=True, methods=["get"])
    def compare(self, request, pk=None):
        """SHD and edge/arrowhead precision, recall and F1 against the truth or another job."""
        other = request.query_params.get("with")
        if not other:
            raise InvalidInput({"with": ["give 'truth' or a job id"]})
        return Response(results.compare_job(self.get_object(), other, self.get_queryset()))


class ExperimentResultsMixin:
    """/api/experiments/<id>/summary/, columns/, export.csv and outputs.zip."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def columns(self, request, pk=None):
        """The swept and fixed parameters and the metric names its jobs report."""
        return Response(results.experiment_columns(self.get_object()))

    @extend_schema(
        parameters=[
            OpenApiParameter("metric", str, description="default: the experiment's objective"),
            OpenApiParameter("order", str, enum=["min", "max"]),
            OpenApiParameter("limit", int, description="jobs listed, at most 1000"),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    @action(detail=True, methods=["get"])
    def summary(self, request, pk=None):
        """Jobs ranked by a metric, best first, with their parameters and metrics; counts."""
        return Response(
            results.experiment_summary(
                self.get_object(),
                request.query_params.get("metric"),
                request.query_params.get("order"),
                int_query_param(request, "limit", 100),
            )
        )

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    def export_csv(self, request, pk=None):
        """One row per job; routed in urls.py as export.csv."""
        experiment = self.get_object()
        response = StreamingHttpResponse(
            results.experiment_csv(experiment), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="experiment-{experiment.pk}.csv"'
        return response

    @extend_schema(responses={(200, "application/zip"): OpenApiTypes.BINARY})
    def outputs_zip(self, request, pk=None):
        """Every job's output files as job-<id>/<name>; routed in urls.py as outputs.zip."""
        experiment = self.get_object()
        response = StreamingHttpResponse(
            (chunk for chunk in results.experiment_zip(experiment) if chunk),
            content_type="application/zip",
        )
        name = f"experiment-{experiment.pk}-outputs.zip"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
