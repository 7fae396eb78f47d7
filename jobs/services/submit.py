"""Submitting an experiment: validate everything, then write every job in one transaction."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from jobs import queries
from jobs.errors import InvalidInput
from jobs.models import Algorithm, Dataset, DatasetInput, Experiment, Strategy
from jobs.search.options import check_options, grid_jobs
from jobs.search.space import Space, parse_space
from jobs.services.quotas import check_fits
from jobs.services.search import top_up
from jobs.signals import announce_jobs_changed
from jobs.sweeps import NodeLister, expand_grid, grid_size, resolve_sweep, validate_resources
from jobs.validators import depth_problem
from jobs.wakeups import wake_schedulers


def _positive_int(errors: dict, field: str, value: Any, *, minimum: int, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        errors[field] = [f"must be an integer between {minimum} and {maximum}"]
        return minimum
    if not minimum <= value <= maximum:
        errors[field] = [f"must be between {minimum} and {maximum}"]
    return value


def _needs_space(parameters: Any, strategy: Any) -> bool:
    """Distributions, conditions and search strategies take the search space's path; plain
    sweeps keep the grid's own (counted before expansion, expanded in the database)."""
    if strategy not in (None, "", Strategy.GRID) or not isinstance(parameters, dict):
        return isinstance(parameters, dict)
    return any(
        isinstance(value, dict) and ("distribution" in value or "when" in value)
        for value in parameters.values()
    )


def submit_experiment(
    *,
    owner: Any,
    algorithm: Algorithm,
    dataset: Dataset | None = None,
    parameters: Any = None,
    repeats: Any = 1,
    priority: Any = 0,
    resources: Any = None,
    name: str = "",
    max_attempts: Any = None,
    timeout: Any = None,
    retry_algorithm_errors: bool = False,
    objective: str = "",
    objective_order: str = "max",
    backend: str = "",
    list_nodes: NodeLister | None = None,
    validate_only: bool = False,
    strategy: str = "grid",
    objectives: Any = None,
    max_jobs: Any = None,
    parallelism: Any = None,
    max_failed: Any = None,
    goal: Any = None,
    max_seconds: Any = None,
    pruner: Any = None,
    seed: Any = None,
) -> Experiment:
    """Check the sweep against the algorithm's schema and queue one job per combination.

    ``list_nodes`` lists the nodes a ``resources.node`` may name (see sweeps.validate_resources).
    ``validate_only``: check everything, write nothing (a pipeline's later stages); the
    ``dataset`` then only needs to say whether there will be one.
    """
    errors: dict[str, Any] = {}
    # Each value is checked where its rule lives (sweeps); only absurd nesting stops here.
    for field, value in (("parameters", parameters), ("resources", resources)):
        problem = depth_problem(value)
        if problem:
            errors[field] = [problem]
    if errors:
        raise InvalidInput(errors)
    if not algorithm.enabled:
        errors["algorithm"] = [f"algorithm {algorithm.name!r} is disabled"]
    if dataset is None and algorithm.dataset_input == DatasetInput.REQUIRED:
        errors["dataset"] = [f"algorithm {algorithm.name!r} needs a dataset"]
    if dataset is not None and algorithm.dataset_input == DatasetInput.NONE:
        errors["dataset"] = [f"algorithm {algorithm.name!r} takes no dataset"]
    repeats = _positive_int(errors, "repeats", repeats, minimum=1, maximum=settings.PETRI_MAX_GRID)
    priority = _positive_int(errors, "priority", priority, minimum=-1000, maximum=1000)
    if max_attempts is None:
        max_attempts = settings.PETRI_MAX_ATTEMPTS
    max_attempts = _positive_int(errors, "max_attempts", max_attempts, minimum=1, maximum=20)
    if timeout is not None:
        timeout = _positive_int(errors, "timeout", timeout, minimum=1, maximum=30 * 24 * 3600)
    backend = backend or algorithm.backend
    if backend and backend not in settings.PETRI_BACKENDS:
        offered = ", ".join(settings.PETRI_BACKENDS)
        field = "backend" if backend != algorithm.backend else "algorithm"
        errors[field] = [f"{backend!r} is not a backend this installation offers ({offered})"]
    axes: dict[str, list[Any]] = {}
    space: Space | None = None
    resolved_resources: dict[str, Any] = {}
    try:
        if _needs_space(parameters, strategy):
            space = parse_space(algorithm.parameter_schema(), parameters or {})
        else:
            axes = resolve_sweep(
                algorithm.parameter_schema(),
                parameters or {},
                repeats=repeats if "repeats" not in errors else 1,
                max_grid=settings.PETRI_MAX_GRID,
            )
    except InvalidInput as exc:
        errors.update(exc.errors)
    options = check_options(
        errors,
        strategy=strategy,
        space=space,
        max_grid=settings.PETRI_MAX_GRID,
        objective=objective,
        objective_order=objective_order,
        objectives=objectives,
        max_jobs=max_jobs,
        parallelism=parallelism,
        max_failed=max_failed,
        goal=goal,
        max_seconds=max_seconds,
        pruner=pruner,
        seed=seed,
    )
    search = options.get("strategy", Strategy.GRID) != Strategy.GRID
    size = 0
    if space is not None and not search and not errors:
        counted = grid_jobs(space, repeats, settings.PETRI_MAX_GRID)
        if counted is None:
            errors["parameters"] = [
                f"the grid has more than {settings.PETRI_MAX_GRID} jobs (the limit)"
            ]
        size = counted or 0
    try:
        resolved_resources = validate_resources(algorithm.resources, resources, list_nodes)
        check_fits(owner, resolved_resources, backend or settings.PETRI_BACKEND)
    except InvalidInput as exc:
        errors.update(exc.errors)
    if errors:
        raise InvalidInput(errors)
    if validate_only:
        return Experiment(owner=owner, algorithm=algorithm, name=name or algorithm.name)
    if space is None:
        size = grid_size(axes, repeats)
    if options["objectives"]:
        objective, objective_order = options["objectives"][0].values()
    if options["seed"] is None:
        options["seed"] = secrets.randbelow(2**32)

    now = timezone.now()
    with transaction.atomic():
        experiment = Experiment.objects.create(
            owner=owner,
            name=name or algorithm.name,
            algorithm=algorithm,
            dataset=dataset,
            parameters=parameters or {},
            repeats=repeats,
            priority=priority,
            resources=resolved_resources,
            backend=backend,
            max_attempts=max_attempts,
            timeout=timeout,
            retry_algorithm_errors=bool(retry_algorithm_errors),
            objective=objective,
            objective_order=objective_order,
            job_count=0 if search else size,
            created_at=now,
            **options,
        )
        if search:
            top_up(experiment.pk, now)
        else:
            combinations = expand_grid(axes) if space is None else space.grid()
            queries.insert_grid(experiment, combinations, repeats, now)
        wake_schedulers()
        announce_jobs_changed([], [experiment.pk])
    return experiment
