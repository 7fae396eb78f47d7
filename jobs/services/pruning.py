"""Early stopping: when a running job of a search with a pruner reports its watched metric,
Optuna's pruner judges it against the other jobs' curves; a job that will not beat them is
cancelled through the normal cancel path and ends ``pruned`` (docs/search.md).

The successive-halving pruners note each trial's rung values as they go; Petri keeps no such
notes, so they are rebuilt from the reported curves: a trial's value at a rung is its first
value at or past the rung's step.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.db import transaction

from jobs.models import FailureReason, Job, JobStatus
from jobs.search.space import parse_space
from jobs.search.strategies import direction
from jobs.services.search import intermediate_values
from jobs.signals import announce_jobs_changed
from jobs.wakeups import wake_schedulers

if TYPE_CHECKING:
    import optuna

    from jobs.search.study import TrialRecord

log = logging.getLogger(__name__)


def consider_pruning(job_id: int) -> bool:
    """Judge a running job by its latest value; True when it was pruned (now cancelling)."""
    job = Job.objects.select_related("experiment__algorithm").get(pk=job_id)
    config = job.experiment.pruner
    if not config or job.status != JobStatus.RUNNING:
        return False
    try:
        should = _should_prune(job, config)
    except Exception:  # a pruner's trouble must never fail the runner's report
        log.exception("pruner failed for job %s", job_id)
        return False
    if not should:
        return False
    with transaction.atomic():
        pruned = Job.objects.filter(
            pk=job_id, attempt=job.attempt, status=JobStatus.RUNNING
        ).update(status=JobStatus.CANCELLING, failure_reason=FailureReason.PRUNED)
        if pruned:
            announce_jobs_changed([job_id], [job.experiment_id])
            wake_schedulers()
    return bool(pruned)


def _should_prune(job: Job, config: dict[str, Any]) -> bool:
    from jobs.search import study as studies  # Optuna: only for an experiment with a pruner

    experiment = job.experiment
    rows = list(
        Job.objects.filter(experiment=experiment)
        .order_by("index", "repeat")
        .values_list("pk", "status", "parameters")
    )
    curves = intermediate_values([pk for pk, _, _ in rows], config["metric"])
    own = curves.get(job.pk)
    if not own:
        return False
    pruner = studies.make_pruner(config)
    space = parse_space(experiment.algorithm.parameter_schema(), experiment.parameters)
    records = []
    for pk, status, parameters in rows:
        curve = curves.get(pk, {})
        state = studies.trial_state(status)
        if pk == job.pk:
            state = studies.TrialState.RUNNING
        values = [curve[max(curve)]] if state == studies.TrialState.COMPLETE and curve else None
        if state == studies.TrialState.COMPLETE and values is None:
            state = studies.TrialState.FAIL
        records.append(studies.TrialRecord(pk, parameters, state, values, curve))
    rungs = _rungs(pruner, config, records, job.pk)
    study = studies.build_study(
        space,
        [direction(config["order"])],
        records,
        pruner=pruner,
        state={"trials": rungs},
    )
    current = next(t for t in study.get_trials(deepcopy=False) if t.user_attrs["job"] == job.pk)
    return pruner.prune(study, current)


def _rungs(
    pruner: optuna.pruners.BasePruner,
    config: dict[str, Any],
    records: list[TrialRecord],
    current_job: int,
) -> dict[str, dict[str, float]]:
    """Each other trial's rung values, as successive halving would have noted them."""
    if config["type"] == "median":
        return {}
    min_resource = int(config.get("min_resource", 1))
    factor = int(config.get("reduction_factor", 3))
    from optuna.pruners import HyperbandPruner

    hyperband = isinstance(pruner, HyperbandPruner)
    if hyperband:
        # Its max_resource is given, so it sizes its brackets without looking at the study.
        pruner._try_initialization(None)
    notes: dict[str, dict[str, float]] = {}
    for number, record in enumerate(records):
        if record.job_id == current_job or not record.intermediate:
            continue
        rate = 0
        if hyperband:
            # Brackets hang on the study's name and the trial's number alone.
            rate = pruner._get_bracket_id(_Named("petri"), _Numbered(number))
        steps = sorted(record.intermediate)
        rung, attrs = 0, {}
        while True:
            rung_step = min_resource * factor ** (rate + rung)
            reached = [step for step in steps if step >= rung_step]
            if not reached:
                break
            attrs[f"completed_rung_{rung}"] = record.intermediate[reached[0]]
            rung += 1
        notes[str(record.job_id)] = attrs
    return notes


class _Named:
    def __init__(self, study_name: str) -> None:
        self.study_name = study_name


class _Numbered:
    def __init__(self, number: int) -> None:
        self.number = number
