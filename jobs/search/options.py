"""An experiment's search options checked together: strategy against space, budgets, pruner,
objectives. Each problem is reported under the field that carries it."""

from __future__ import annotations

import math
from typing import Any

from jobs.models import Strategy
from jobs.search.space import Space
from jobs.search.strategies import MULTI_OBJECTIVE, PRUNERS, gp_available
from jobs.validators import NUL, bounded_int, finite_number

DEFAULT_MAX_JOBS = 100
DEFAULT_PARALLELISM = 4
PRUNER_KEYS = {
    "type",
    "metric",
    "order",
    "warmup_steps",
    "startup_trials",
    "min_resource",
    "max_resource",
    "reduction_factor",
}


def _count(errors: dict, field: str, value: Any, *, minimum: int, maximum: int) -> int | None:
    if value is None:
        return None
    try:
        return bounded_int(value, minimum=minimum, maximum=maximum)
    except ValueError as exc:
        errors[field] = [str(exc)]
        return None


def check_options(
    errors: dict[str, Any],
    *,
    strategy: Any,
    space: Space | None,
    max_grid: int,
    objective: str,
    objective_order: str,
    objectives: Any = None,
    max_jobs: Any = None,
    parallelism: Any = None,
    max_failed: Any = None,
    goal: Any = None,
    max_seconds: Any = None,
    pruner: Any = None,
    seed: Any = None,
) -> dict[str, Any]:
    """The options as the experiment stores them; problems go into ``errors`` by field."""
    strategy = strategy or Strategy.GRID
    if strategy not in Strategy.values:
        errors["strategy"] = [f"must be one of {', '.join(Strategy.values)}"]
        return {}
    search = strategy != Strategy.GRID
    options: dict[str, Any] = {"strategy": strategy}
    if strategy == Strategy.GP and not gp_available():
        errors["strategy"] = ["gp needs Optuna's GPSampler and torch, not installed here"]
    options["max_failed"] = _count(errors, "max_failed", max_failed, minimum=1, maximum=max_grid)
    options["max_seconds"] = _count(
        errors, "max_seconds", max_seconds, minimum=1, maximum=365 * 24 * 3600
    )
    options["seed"] = _count(errors, "seed", seed, minimum=0, maximum=2**32 - 1)
    if search:
        default_jobs = DEFAULT_MAX_JOBS if max_jobs is None else max_jobs
        options["max_jobs"] = _count(errors, "max_jobs", default_jobs, minimum=1, maximum=max_grid)
        default_parallel = DEFAULT_PARALLELISM if parallelism is None else parallelism
        options["parallelism"] = _count(
            errors, "parallelism", default_parallel, minimum=1, maximum=10_000
        )
    else:
        for field, value in (("max_jobs", max_jobs), ("parallelism", parallelism)):
            if value is not None:
                errors[field] = ["applies to search strategies only; a grid runs all its points"]
    names = _objectives(errors, objectives, objective, objective_order)
    options["objectives"] = names if len(names) > 1 else []
    if len(names) > 1 and strategy not in MULTI_OBJECTIVE:
        errors["strategy"] = [f"{strategy} cannot search several objectives"]
    if search and not names:
        errors["objective"] = [f"a {strategy} search needs the metric it optimizes"]
    if goal is not None:
        try:
            options["goal"] = finite_number(goal)
        except ValueError as exc:
            errors["goal"] = [str(exc)]
        if not names:
            errors["goal"] = ["a goal needs an objective"]
        elif len(names) > 1:
            errors["goal"] = ["a goal applies to a single objective"]
    options["pruner"] = _pruner(errors, pruner, names, search)
    if space is not None and "parameters" not in errors:
        _check_space(errors, strategy, space, max_grid)
    return options


def _objectives(
    errors: dict[str, Any], objectives: Any, objective: str, order: str
) -> list[dict[str, str]]:
    if objectives in (None, []):
        return [{"name": objective, "order": order or "max"}] if objective else []
    if not isinstance(objectives, list) or len(objectives) != 2:
        errors["objectives"] = ["must be a list of two {name, order} objects"]
        return []
    checked = []
    for item in objectives:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("name"), str)
            or not item["name"]
            or len(item["name"]) > 100
            or NUL in item["name"]
            or item.get("order", "max") not in ("min", "max")
            or set(item) - {"name", "order"}
        ):
            errors["objectives"] = ['each must be {"name": metric, "order": "min" or "max"}']
            return []
        checked.append({"name": item["name"], "order": item.get("order", "max")})
    if checked[0]["name"] == checked[1]["name"]:
        errors["objectives"] = ["two different metrics are needed"]
        return []
    return checked


def _pruner(
    errors: dict[str, Any], pruner: Any, names: list[dict[str, str]], search: bool
) -> dict[str, Any]:
    if pruner in (None, {}, ""):
        return {}
    if isinstance(pruner, str):
        pruner = {"type": pruner}
    if not isinstance(pruner, dict) or pruner.get("type") not in PRUNERS:
        errors["pruner"] = [f"must be one of {', '.join(PRUNERS)} (or an object with its type)"]
        return {}
    unknown = set(pruner) - PRUNER_KEYS
    if unknown:
        errors["pruner"] = [f"unknown keys: {', '.join(sorted(map(str, unknown)))[:200]}"]
        return {}
    if len(names) > 1:
        errors["pruner"] = ["Optuna cannot prune multi-objective studies"]
        return {}
    config = dict(pruner)
    metric = config.get("metric") or (names[0]["name"] if names else "")
    if not isinstance(metric, str) or not metric or NUL in metric or len(metric) > 100:
        errors["pruner"] = ["needs the metric it watches (metric), or an objective"]
        return {}
    config["metric"] = metric
    config["order"] = config.get("order") or (names[0]["order"] if names else "min")
    if config["order"] not in ("min", "max"):
        errors["pruner"] = ["order must be min or max"]
        return {}
    for key in ("warmup_steps", "startup_trials", "min_resource", "max_resource"):
        if key in config:
            try:
                config[key] = bounded_int(config[key], minimum=0, maximum=1_000_000)
            except ValueError as exc:
                errors["pruner"] = [f"{key} {exc}"]
                return {}
    if "reduction_factor" in config:
        try:
            config["reduction_factor"] = bounded_int(
                config["reduction_factor"], minimum=2, maximum=100
            )
        except ValueError as exc:
            errors["pruner"] = [f"reduction_factor {exc}"]
    if config.get("min_resource") == 0:
        errors["pruner"] = ["min_resource must be at least 1"]
    return config


def _check_space(errors: dict[str, Any], strategy: str, space: Space, max_grid: int) -> None:
    if strategy == Strategy.GRID:
        continuous = [d.name for d in space.searched if not d.discrete]
        if continuous:
            errors["strategy"] = errors.get("strategy") or [
                f"grid needs discrete values; {', '.join(continuous)} "
                "is a continuous distribution without step (give a step, or use random, "
                "sobol or tpe)"
            ]
        return
    if not space.searched:
        errors.setdefault("strategy", [f"{strategy} needs at least one parameter to search"])
    if strategy == Strategy.CMAES and not any(
        d.values is None and d.kind != "fixed" for d in space.searched
    ):
        errors.setdefault("strategy", ["cmaes needs at least one numeric range or distribution"])


def grid_jobs(space: Space, repeats: int, max_grid: int) -> int | None:
    """How many jobs the grid makes, or None when it would pass ``max_grid``."""
    limit = math.ceil(max_grid / max(repeats, 1))
    count = space.grid_count(limit)
    size = count * repeats
    return None if size > max_grid else size
