"""Reading results: a job's graph, comparisons, an experiment's ranking and its exports."""

from __future__ import annotations

import csv
import hashlib
import json
import zipfile
from collections.abc import Iterator
from typing import Any

from django.core.cache import cache
from django.db.models import F, QuerySet

from jobs import graphs
from jobs.errors import InvalidInput
from jobs.metrics import rank_by_metric
from jobs.models import Experiment, Job, OutputFile, Result
from jobs.services.outputs import GRAPH_FILE
from jobs.status import job_counts

SUMMARY_MAX_JOBS = 1000
COLUMN_SAMPLE = 500  # newest results read for metric names
ZIP_CHUNK = 1 << 20
VALID_GRAPH_CACHE_SECONDS = 24 * 3600


def graph_output(job: Job) -> OutputFile | None:
    """The graph.json of the job's current attempt, if it wrote one."""
    return OutputFile.objects.filter(job=job, attempt=job.attempt, name=GRAPH_FILE).first()


def _read(output: OutputFile) -> tuple[bytes, str]:
    """The stored bytes, and the cache key saying these very bytes were found valid."""
    with output.file.open("rb") as handle:
        raw = handle.read()
    # Hashing 8 MB takes milliseconds; validating it takes tenths of a second.
    return raw, f"petri:valid-graph:{hashlib.blake2b(raw, digest_size=20).hexdigest()}"


def load_graph(output: OutputFile) -> dict[str, Any]:
    """Read a stored graph.json, validated (InvalidInput naming `graph` when it is broken)."""
    raw, key = _read(output)
    if cache.get(key):
        return json.loads(raw)
    graph = graphs.parse_graph(raw, "graph")
    cache.set(key, True, timeout=VALID_GRAPH_CACHE_SECONDS)
    return graph


def graph_document(output: OutputFile) -> bytes:
    """The stored graph.json as it is, once it has been found valid.

    Sent without re-encoding, and validated once per content: a 100,000-edge graph then
    loads in the time it takes to read it.
    """
    raw, key = _read(output)
    if not cache.get(key):
        graphs.parse_graph(raw, "graph")
        cache.set(key, True, timeout=VALID_GRAPH_CACHE_SECONDS)
    return raw


def job_graph(job: Job) -> dict[str, Any] | None:
    output = graph_output(job)
    return load_graph(output) if output else None


def compare_job(job: Job, other: str, visible_jobs: QuerySet[Job]) -> dict[str, Any]:
    """Compare a job's graph with `other`: 'truth' (its dataset's) or a visible job's id."""
    found = job_graph(job)
    if found is None:
        raise InvalidInput({"job": [f"job {job.pk} wrote no {GRAPH_FILE}"]})
    if other == "truth":
        dataset = job.experiment.dataset
        if dataset is None or dataset.truth is None:
            raise InvalidInput({"with": ["this job's dataset has no ground truth"]})
        reference = graphs.validate_graph(dataset.truth, "with")
        against: int | str = "truth"
    else:
        try:
            other_id = int(other)
        except ValueError:
            raise InvalidInput({"with": ["must be 'truth' or a job id"]}) from None
        other_job = visible_jobs.filter(pk=other_id).first()
        if other_job is None:
            raise InvalidInput({"with": [f"job {other_id} does not exist"]})
        reference = job_graph(other_job)
        if reference is None:
            raise InvalidInput({"with": [f"job {other_id} wrote no {GRAPH_FILE}"]})
        against = other_id
    if set(found["nodes"]) != set(reference["nodes"]):
        raise InvalidInput(
            {
                "with": [
                    f"the graphs are over different variables ({len(found['nodes'])} and "
                    f"{len(reference['nodes'])} nodes, not the same names); "
                    "only graphs over the same variables compare"
                ]
            }
        )
    return {"job": job.pk, "with": against, **graphs.compare(found, reference)}


def runtime(job: Job) -> float | None:
    if job.started_at is None or job.finished_at is None:
        return None
    return round((job.finished_at - job.started_at).total_seconds(), 3)


def job_row(job: Job) -> dict[str, Any]:
    result = getattr(job, "result", None)
    return {
        "id": job.pk,
        "status": job.status,
        "attempt": job.attempt,
        "parameters": job.parameters,
        "metrics": result.metrics if result is not None else {},
        "runtime": runtime(job),
    }


def experiment_summary(
    experiment: Experiment, metric: str | None, order: str | None, limit: int = 100
) -> dict[str, Any]:
    """Jobs ranked by a metric, best first (defaults: the experiment's objective)."""
    metric = metric or experiment.objective
    order = order or experiment.objective_order or "max"
    if not metric:
        raise InvalidInput({"metric": ["name a metric; this experiment has no objective"]})
    if order not in ("min", "max"):
        raise InvalidInput({"order": ["must be 'min' or 'max'"]})
    if not 1 <= limit <= SUMMARY_MAX_JOBS:
        raise InvalidInput({"limit": [f"must be between 1 and {SUMMARY_MAX_JOBS}"]})
    jobs = Job.objects.filter(experiment=experiment).select_related("result")
    with_metric = jobs.filter(**{"result__metrics__has_key": metric}).count()
    rows = [job_row(job) for job in rank_by_metric(jobs, metric, order)[:limit]]
    best = rows[0] if rows and metric in rows[0]["metrics"] else None
    return {
        "experiment": experiment.pk,
        "metric": metric,
        "order": order,
        "counts": {**job_counts(experiment), "total": experiment.job_count},
        "with_metric": with_metric,
        "best": best,
        "jobs": rows,
    }


# A cell a spreadsheet would read as a formula (OWASP "CSV injection"), tab and CR included.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """Text that starts like a formula gets a leading ``'``, which spreadsheets show as text.

    Only text: numbers are written as numbers, so a metric of -3.5 stays a number.
    """
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def experiment_columns(experiment: Experiment) -> dict[str, Any]:
    """Swept parameters (more than one value), fixed ones with their value, and metric names.

    Read from the submitted sweep, one job's parameters and the newest results, so it costs
    the same for 100 jobs as for 100,000.
    """
    jobs = Job.objects.filter(experiment=experiment)
    first = jobs.order_by("id").values_list("parameters", flat=True).first() or {}
    swept = [
        name
        for name, value in (experiment.parameters or {}).items()
        if isinstance(value, dict) or (isinstance(value, list) and len(value) > 1)
    ]
    fixed = {name: value for name, value in first.items() if name not in swept}
    metrics: set[str] = set()
    recent = Result.objects.filter(experiment=experiment).order_by("-id")
    for found in recent.values_list("metrics", flat=True)[:COLUMN_SAMPLE]:
        metrics.update(found or {})
    return {
        "experiment": experiment.pk,
        "parameters": swept,
        "fixed": fixed,
        "metrics": sorted(metrics),
        "objective": experiment.objective or None,
        "objective_order": experiment.objective_order or None,
    }


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    if isinstance(value, list | dict):
        return spreadsheet_safe(json.dumps(value))
    return spreadsheet_safe(str(value))


class _Echo:
    """A file-like whose write returns the text, for csv.writer in a streamed response."""

    def write(self, value: str) -> str:
        return value


def experiment_csv(experiment: Experiment) -> Iterator[str]:
    """CSV lines: id, status, attempt, params.<name>..., metrics.<name>..., runtime."""
    jobs = Job.objects.filter(experiment=experiment).select_related("result")
    schema = [spec["name"] for spec in experiment.algorithm.parameters]
    seen_params: set[str] = set()
    seen_metrics: set[str] = set()
    # A first pass over the JSON columns alone: every job's keys make the header.
    for parameters, metrics in jobs.values_list("parameters", "result__metrics").iterator():
        seen_params.update(parameters or {})
        seen_metrics.update(metrics or {})
    params = [p for p in schema if p in seen_params] + sorted(seen_params - set(schema))
    metrics = sorted(seen_metrics)
    writer = csv.writer(_Echo())
    yield writer.writerow(
        ["id", "status", "attempt"]
        + [f"params.{p}" for p in params]
        + [f"metrics.{m}" for m in metrics]
        + ["runtime"]
    )
    for job in jobs.order_by("index", "repeat", "id").iterator(chunk_size=2000):
        row = job_row(job)
        yield writer.writerow(
            [job.pk, job.status, job.attempt]
            + [_cell(row["parameters"].get(p)) for p in params]
            + [_cell(row["metrics"].get(m)) for m in metrics]
            + [_cell(row["runtime"])]
        )


class _ZipStream:
    """An unseekable sink for zipfile: whatever it wrote since the last drain is yielded."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.offset = 0

    def write(self, data: bytes) -> int:
        self.chunks.append(bytes(data))
        self.offset += len(data)
        return len(data)

    def tell(self) -> int:
        return self.offset

    def flush(self) -> None:
        pass

    def drain(self) -> bytes:
        data, self.chunks = b"".join(self.chunks), []
        return data


def experiment_outputs(experiment: Experiment) -> QuerySet[OutputFile]:
    """Output files of each job's current attempt."""
    return OutputFile.objects.filter(
        experiment=experiment, job__isnull=False, attempt=F("job__attempt")
    ).order_by("job_id", "name")


def experiment_zip(experiment: Experiment) -> Iterator[bytes]:
    """A zip of every output, as `job-<id>/<name>`, produced as it is sent."""
    sink = _ZipStream()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:  # type: ignore[arg-type]
        for output in experiment_outputs(experiment).iterator():
            info = zipfile.ZipInfo(f"job-{output.job_id}/{output.name}")
            info.date_time = output.created_at.timetuple()[:6]
            info.compress_type = zipfile.ZIP_DEFLATED
            with (
                output.file.open("rb") as source,
                archive.open(info, "w", force_zip64=True) as dest,
            ):
                for chunk in iter(lambda source=source: source.read(ZIP_CHUNK), b""):
                    dest.write(chunk)
                    yield sink.drain()
            yield sink.drain()
    yield sink.drain()
