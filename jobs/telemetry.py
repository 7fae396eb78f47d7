"""Prometheus instruments of the job queue, in the registry of the process that observes them.

The web process exposes them at /metrics; a separate scheduler process serves its own on
PETRI_SCHEDULER_METRICS_PORT (docs/deployment.md: Operators). Gauges read from the database live in
webapp/metrics.py, computed at scrape time.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

# Claims are one transaction over a batch; dispatch is one backend call per attempt.
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

CLAIM_SECONDS = Histogram(
    "petri_claim_seconds",
    "Time of one claim transaction (waiting to dispatching)",
    buckets=_BUCKETS,
)
DISPATCH_SECONDS = Histogram(
    "petri_dispatch_seconds", "Time the backend took to accept one attempt", buckets=_BUCKETS
)
RUNNER_EVENTS = Counter(
    "petri_runner_events", "Events runners posted (started, progress, log, metric...)", ["kind"]
)
