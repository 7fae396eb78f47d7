"""``GET /metrics``: Prometheus text format, behind PETRI_METRICS_TOKEN when it is set.

Process-local instruments (claim and dispatch latency, runner events, websocket clients) come
from the default registry; job counts and queue age are read from the database per scrape, so
every web replica reports the same, true numbers.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Count, Min
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Gauge, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from jobs.models import Job, JobStatus

WEBSOCKET_CLIENTS = Gauge("petri_websocket_clients", "Websocket connections open in this process")


class QueueCollector(Collector):
    """Jobs by status (one GROUP BY) and the age of the oldest due waiting job."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        by_status = GaugeMetricFamily("petri_jobs", "Jobs in each status", labels=["status"])
        counts = dict(Job.objects.order_by().values_list("status").annotate(n=Count("id")))
        for status in JobStatus:
            by_status.add_metric([status.value], counts.get(status.value, 0))
        yield by_status
        now = timezone.now()
        oldest = (
            Job.objects.filter(status=JobStatus.WAITING, not_before__lte=now)
            .order_by()
            .aggregate(oldest=Min("created_at"))["oldest"]
        )
        yield GaugeMetricFamily(
            "petri_queue_age_seconds",
            "Seconds the oldest due waiting job has waited (0 when none waits)",
            value=(now - oldest).total_seconds() if oldest else 0.0,
        )


_database = CollectorRegistry(auto_describe=False)
_database.register(QueueCollector())


def _authorized(request: HttpRequest) -> bool:
    token = settings.PETRI_METRICS_TOKEN
    if not token:
        return True
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)


@require_safe
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _authorized(request):
        response = HttpResponse("a bearer token is required\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body = generate_latest(REGISTRY) + generate_latest(_database)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
