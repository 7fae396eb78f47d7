"""Searches and budgets: each scheduler tick asks Optuna for points to fill free slots, and
stops an experiment whose budget is spent, recording why (docs/search.md).

The experiment's row lock makes each top-up one at a time across scheduler replicas: a point
is asked once. The study is rebuilt from the job table every time (jobs/search/study.py).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from jobs.errors import Conflict
from jobs.metrics import metric_value
from jobs.models import (
    Experiment,
    Job,
    JobEvent,
    JobStatus,
    Result,
    StopReason,
    Strategy,
)
from jobs.search.space import parse_space
from jobs.search.strategies import direction
from jobs.services.ended import check_ended
from jobs.signals import announce_jobs_changed
from jobs.wakeups import wake_schedulers

if TYPE_CHECKING:
    from jobs.search.study import TrialRecord

log = logging.getLogger(__name__)
LIVE = (
    JobStatus.WAITING,
    JobStatus.DISPATCHING,
    JobStatus.PENDING,
    JobStatus.RUNNING,
    JobStatus.CANCELLING,
)


def watched() -> Any:
    """Experiments a tick looks at: unstopped searches, and grids with a budget, not ended."""
    budgets = Q(max_failed__isnull=False) | Q(goal__isnull=False) | Q(max_seconds__isnull=False)
    return Experiment.objects.filter(stop_reason="", notified_at__isnull=True).filter(
        ~Q(strategy=Strategy.GRID) | budgets
    )


def top_up_searches(now: datetime | None = None) -> int:
    """For every watched experiment: stop it if a budget is spent, else fill its free slots.
    Returns how many jobs were queued."""
    now = now or timezone.now()
    queued = 0
    for experiment_id in watched().values_list("pk", flat=True):
        try:
            queued += top_up(experiment_id, now)
        except Exception:  # one broken study must not stop the scheduler's tick
            log.exception("cannot top up experiment %s", experiment_id)
    return queued


def top_up(experiment_id: int, now: datetime | None = None) -> int:
    """Check one experiment's budgets and queue its next points; how many were queued."""
    now = now or timezone.now()
    with transaction.atomic():
        experiment = (
            Experiment.objects.select_for_update(skip_locked=True)
            .select_related("algorithm")
            .filter(pk=experiment_id)
            .first()
        )
        if experiment is None or experiment.stop_reason:
            return 0  # another replica holds it this instant, or it has stopped
        counts = dict(
            Job.objects.filter(experiment=experiment)
            .values_list("status")
            .annotate(n=Count("id"))
            .values_list("status", "n")
        )
        reason = _spent(experiment, counts, now)
        if reason:
            _stop(experiment, reason, now, counts)
            return 0
        if experiment.strategy == Strategy.GRID:
            return 0
        live = sum(counts.get(status, 0) for status in LIVE)
        slots = min(
            (experiment.parallelism or 1) - live,
            (experiment.max_jobs or 0) - experiment.job_count,
        )
        if slots <= 0:
            return 0
        queued = _ask(experiment, slots, now)
        if experiment.job_count >= (experiment.max_jobs or 0):
            _stop(experiment, StopReason.MAX_JOBS, now, counts, cancel=False)
    return queued


def _spent(experiment: Experiment, counts: dict[str, int], now: datetime) -> str:
    """The budget this experiment has spent, if any."""
    if experiment.max_seconds is not None:
        if now - experiment.created_at >= timedelta(seconds=experiment.max_seconds):
            return StopReason.TIME_BUDGET
    failed = counts.get(JobStatus.FAILED, 0) + experiment.pruned_failed
    if experiment.max_failed is not None and failed >= experiment.max_failed:
        return StopReason.MAX_FAILED
    if experiment.goal is not None and experiment.objective and _goal_reached(experiment):
        return StopReason.GOAL
    return ""


def _goal_reached(experiment: Experiment) -> bool:
    value = metric_value(experiment.objective, "metrics")
    reached = {"gte" if experiment.objective_order == "max" else "lte": experiment.goal}
    results = Result.objects.filter(experiment=experiment, status=JobStatus.SUCCEEDED)
    return results.alias(v=value).filter(**{f"v__{k}": v for k, v in reached.items()}).exists()


def _stop(
    experiment: Experiment,
    reason: str,
    now: datetime,
    counts: dict[str, int],
    cancel: bool = True,
) -> None:
    """Record why it stopped; a spent budget also cancels what is still queued or running."""
    experiment.stop_reason, experiment.stopped_at = reason, now
    experiment.save(update_fields=["stop_reason", "stopped_at"])
    if cancel and any(counts.get(status, 0) for status in LIVE if status != JobStatus.CANCELLING):
        from jobs.services.lifecycle import cancel_experiment

        try:
            cancel_experiment(experiment)
        except Conflict:
            pass
    announce_jobs_changed([], [experiment.pk])
    check_ended([experiment.pk])


def _ask(experiment: Experiment, slots: int, now: datetime) -> int:
    from jobs.search import study as studies  # Optuna: only where a search is asked

    space = parse_space(experiment.algorithm.parameter_schema(), experiment.parameters)
    records = trial_records(experiment)
    study = studies.build_study(
        space,
        directions(experiment),
        records,
        sampler=studies.make_sampler(
            experiment.strategy, experiment.seed or 0, experiment.search_state, len(records)
        ),
        state=experiment.search_state,
    )
    jobs, job_of_trial = [], {}
    for offset in range(slots):
        trial, values = studies.ask(study, space)
        index = experiment.job_count + offset
        jobs.append(
            Job(
                experiment=experiment,
                owner_id=experiment.owner_id,
                priority=experiment.priority,
                index=index,
                parameters=values,
                max_attempts=experiment.max_attempts,
                backend=experiment.backend,
                not_before=now,
                created_at=now,
            )
        )
    created = Job.objects.bulk_create(jobs)
    trials = study.get_trials(deepcopy=False)[len(records) :]
    for trial, job in zip(trials, created, strict=True):
        job_of_trial[trial.number] = job.pk
    experiment.job_count += len(created)
    experiment.search_state = studies.saved_state(study, job_of_trial)
    experiment.save(update_fields=["job_count", "search_state"])
    wake_schedulers()
    announce_jobs_changed([job.pk for job in created], [experiment.pk])
    return len(created)


def directions(experiment: Experiment) -> list[str]:
    if experiment.objectives:
        return [direction(item["order"]) for item in experiment.objectives]
    return [direction(experiment.objective_order)]


def objective_names(experiment: Experiment) -> list[str]:
    if experiment.objectives:
        return [item["name"] for item in experiment.objectives]
    return [experiment.objective] if experiment.objective else []


def trial_records(experiment: Experiment) -> list[TrialRecord]:
    """Every job of the experiment as a trial, in the order they were asked."""
    from jobs.search import study as studies

    names = objective_names(experiment)
    rows = (
        Job.objects.filter(experiment=experiment)
        .order_by("index", "repeat")
        .values_list("pk", "status", "parameters", "result__metrics")
    )
    pruned_ids = []
    records = []
    for job_id, status, parameters, metrics in rows:
        state = studies.trial_state(status)
        values = None
        if state == studies.TrialState.COMPLETE:
            values = _objective_values(metrics or {}, names)
            if values is None:
                state = studies.TrialState.FAIL  # it ran, but reported no objective
        if state == studies.TrialState.PRUNED:
            pruned_ids.append(job_id)
        records.append(studies.TrialRecord(job_id, parameters, state, values))
    if pruned_ids and experiment.pruner:
        curves = intermediate_values(pruned_ids, experiment.pruner["metric"])
        for record in records:
            record.intermediate = curves.get(record.job_id, {})
    return records


def _objective_values(metrics: dict[str, Any], names: list[str]) -> list[float] | None:
    values = []
    for name in names:
        value = metrics.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        values.append(float(value))
    return values or None


def intermediate_values(job_ids: list[int], metric: str) -> dict[int, dict[int, float]]:
    """Each job's reported values of ``metric`` by step (its latest attempt's, last wins)."""
    curves: dict[int, dict[int, float]] = {}
    attempts = dict(Job.objects.filter(pk__in=job_ids).values_list("pk", "attempt"))
    events = (
        JobEvent.objects.filter(job_id__in=job_ids, kind=JobEvent.Kind.METRIC)
        .filter(data__name=metric)
        .order_by("id")
        .values_list("job_id", "attempt", "data")
    )
    for job_id, attempt, data in events:
        step, value = data.get("step"), data.get("value")
        if attempt != attempts.get(job_id) or not isinstance(step, int):
            continue
        if isinstance(value, int | float) and not isinstance(value, bool):
            curves.setdefault(job_id, {})[step] = float(value)
    return curves


def stop_search(experiment: Experiment, now: datetime, cancelled_jobs: int) -> bool:
    """Record that its owner cancelled it; True when it was a search still searching."""
    unstopped = Experiment.objects.filter(pk=experiment.pk, stop_reason="")
    if not cancelled_jobs:
        unstopped = unstopped.exclude(strategy=Strategy.GRID)
    return bool(unstopped.update(stop_reason=StopReason.CANCELLED, stopped_at=now))


def extend_search(experiment: Experiment, more_jobs: Any, max_grid: int) -> Experiment:
    """More points for a search: raise ``max_jobs`` and, if it had stopped, resume it (the
    budget that stopped it, other than max_jobs, is lifted). Jobs that ran are kept and told."""
    from jobs.errors import InvalidInput
    from jobs.validators import bounded_int

    if experiment.strategy == Strategy.GRID:
        raise Conflict("a grid has no more points to ask; submit more values or repeats instead")
    room = max_grid - (experiment.max_jobs or 0)
    if room < 1:
        raise InvalidInput({"jobs": [f"the search already has the most jobs ({max_grid})"]})
    try:
        more = bounded_int(more_jobs, minimum=1, maximum=room)
    except ValueError as exc:
        raise InvalidInput({"jobs": [str(exc)]}) from None
    now = timezone.now()
    with transaction.atomic():
        experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
        experiment.max_jobs = (experiment.max_jobs or 0) + more
        lifted = {
            StopReason.GOAL: "goal",
            StopReason.MAX_FAILED: "max_failed",
            StopReason.TIME_BUDGET: "max_seconds",
        }.get(experiment.stop_reason)
        if lifted:
            setattr(experiment, lifted, None)
        # It may end (and say so) again once the new points are done.
        experiment.stop_reason, experiment.stopped_at, experiment.notified_at = "", None, None
        experiment.save()
        announce_jobs_changed([], [experiment.pk])
    top_up(experiment.pk, now)
    experiment.refresh_from_db()
    return experiment
