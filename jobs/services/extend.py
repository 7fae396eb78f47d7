"""Extending a grid experiment: more values or repeats, queuing only the points never queued."""

from __future__ import annotations

import json
import math
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from jobs.errors import InvalidInput
from jobs.models import Experiment, Job, JobStatus, Result
from jobs.signals import announce_jobs_changed
from jobs.sweeps import expand_grid, resolve_sweep
from jobs.validators import depth_problem
from jobs.wakeups import wake_schedulers

BULK_BATCH = 1000


def _key(parameters: dict[str, Any]) -> str:
    return json.dumps(parameters, sort_keys=True)


def _merged(old: list[Any], added: list[Any]) -> list[Any]:
    """The old values then the added ones not among them, in the order given."""
    seen = {_key({"v": value}) for value in old}
    merged = list(old)
    for value in added:
        if _key({"v": value}) not in seen:
            seen.add(_key({"v": value}))
            merged.append(value)
    return merged


def _check_request(experiment: Experiment, parameters: Any, repeats: Any) -> None:
    if parameters is None and repeats is None:
        raise InvalidInput({"parameters": ["give values to add to parameters, or more repeats"]})
    if parameters is not None:
        problem = depth_problem(parameters)
        if problem or not isinstance(parameters, dict):
            raise InvalidInput({"parameters": [problem or "must be an object of name to values"]})
    if repeats is not None and (
        isinstance(repeats, bool)
        or not isinstance(repeats, int)
        or not experiment.repeats <= repeats <= settings.PETRI_MAX_GRID
    ):
        raise InvalidInput(
            {
                "repeats": [
                    f"must be the new number of repeats, an integer from {experiment.repeats} "
                    f"(today's) to {settings.PETRI_MAX_GRID}"
                ]
            }
        )


def _extended_axes(experiment: Experiment, added: dict[str, Any]) -> dict[str, list[Any]]:
    """Each parameter's values: the experiment's, then those of ``added`` not among them."""
    schema = experiment.algorithm.parameter_schema()
    old_axes = resolve_sweep(schema, experiment.parameters or {}, repeats=experiment.repeats)
    added_axes = resolve_sweep(
        schema, {**experiment.parameters, **added}, max_grid=settings.PETRI_MAX_GRID
    )
    return {
        name: _merged(values, added_axes[name] if name in added else [])
        for name, values in old_axes.items()
    }


def extend_experiment(
    experiment: Experiment, *, parameters: Any = None, repeats: Any = None
) -> int:
    """Add ``parameters``' values to the experiment's sweep (a scalar, list or range each) and
    raise its repeats to ``repeats``; queue one job per new point and repeat; how many.

    A point already queued (whatever became of its job) is never queued again, so an
    extension that adds nothing is refused, naming what added nothing.
    """
    with transaction.atomic():
        # Locked first, so two extensions at once each build on what the other added.
        experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
        _check_request(experiment, parameters, repeats)
        added = parameters or {}
        axes = _extended_axes(experiment, added)
        new_repeats = repeats if repeats is not None else experiment.repeats
        size = math.prod(len(values) for values in axes.values()) * new_repeats
        if size > settings.PETRI_MAX_GRID:
            field = "parameters" if parameters is not None else "repeats"
            raise InvalidInput(
                {
                    field: [
                        f"the extended grid has {size} jobs; the limit is {settings.PETRI_MAX_GRID}"
                    ]
                }
            )
        now = timezone.now()
        # Every point ever queued, from the queue and from results that outlived their row.
        queued: dict[str, int] = {}
        done: set[tuple[str, int]] = set()
        for model in (Job, Result):
            rows = model.objects.filter(experiment=experiment)
            for values, index, repeat in rows.values_list("parameters", "index", "repeat"):
                key = _key(values)
                queued.setdefault(key, index)
                done.add((key, repeat))
        next_index = (
            max(
                Job.objects.filter(experiment=experiment).aggregate(m=Max("index"))["m"] or 0,
                Result.objects.filter(experiment=experiment).aggregate(m=Max("index"))["m"] or 0,
            )
            + 1
        )
        new_jobs: list[Job] = []
        for values in expand_grid(axes):
            key = _key(values)
            index = queued.get(key)
            if index is None:
                index = queued[key] = next_index
                next_index += 1
            new_jobs.extend(
                Job(
                    experiment=experiment,
                    owner_id=experiment.owner_id,
                    priority=experiment.priority,
                    index=index,
                    repeat=repeat,
                    parameters=values,
                    status=JobStatus.WAITING,
                    max_attempts=experiment.max_attempts,
                    backend=experiment.backend,
                    not_before=now,
                    created_at=now,
                )
                for repeat in range(new_repeats)
                if (key, repeat) not in done
            )
        if not new_jobs:
            given = {"parameters": parameters, "repeats": repeats}
            raise InvalidInput(
                {
                    field: ["adds no job: every point and repeat is queued already"]
                    for field, value in given.items()
                    if value is not None
                }
            )
        Job.objects.bulk_create(new_jobs, batch_size=BULK_BATCH)
        # The extended parameters as explicit lists, so the next extension starts from them.
        experiment.parameters = {
            **experiment.parameters,
            **{name: axes[name] if len(axes[name]) > 1 else axes[name][0] for name in added},
        }
        experiment.repeats = new_repeats
        experiment.job_count += len(new_jobs)
        experiment.save(update_fields=["parameters", "repeats", "job_count"])
        wake_schedulers()
        announce_jobs_changed([], [experiment.pk])
    return len(new_jobs)
