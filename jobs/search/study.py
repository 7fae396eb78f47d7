"""Optuna, asked and told: an in-memory study rebuilt from Petri's own rows each time.

The job table is the source of truth; the study is a throw-away view of it, so a restarted or
second scheduler rebuilds the same study. What a sampler notes for itself (Optuna's study and
trial system attributes: the Sobol index, CMA-ES's generation) is kept on the experiment.
"""

from __future__ import annotations

import importlib.util
import warnings
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import TrialState

from jobs.search.space import Dimension, Space

optuna.logging.set_verbosity(optuna.logging.WARNING)
# Optuna warns about experimental samplers and adjusted bounds; neither is the user's concern.
warnings.filterwarnings("ignore", module="optuna")
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

SEARCH_STRATEGIES = ("random", "sobol", "tpe", "cmaes", "gp")
PRUNERS = ("median", "successive_halving", "hyperband")
# Optuna's multi-objective support, by strategy (CMA-ES is single-objective).
MULTI_OBJECTIVE = frozenset({"random", "sobol", "tpe", "gp"})


def gp_available() -> bool:
    """Optuna's GPSampler needs torch, which Petri does not install."""
    return importlib.util.find_spec("torch") is not None


@dataclass
class TrialRecord:
    """One job as a trial: its chosen values, its outcome and its intermediate values."""

    job_id: int
    parameters: dict[str, Any]
    state: TrialState
    values: list[float] | None = None
    intermediate: dict[int, float] = field(default_factory=dict)


def distribution(dim: Dimension) -> BaseDistribution:
    if dim.values is not None:
        return CategoricalDistribution(dim.values)
    if dim.kind == "range":
        values = dim.grid_values()
        step = values[1] - values[0] if len(values) > 1 else None
        if dim.spec["type"] == "int":
            return IntDistribution(int(values[0]), int(values[-1]), step=int(step or 1))
        return FloatDistribution(values[0], values[-1], step=step)
    if dim.distribution == "int":
        return IntDistribution(int(dim.low), int(dim.high), step=int(dim.step or 1), log=dim.log)
    return FloatDistribution(dim.low, dim.high, step=dim.step, log=dim.log)


def mixed_seed(seed: int, count: int) -> int:
    """The sampler's seed for the ``count``-th rebuild: reproducible, and new each time."""
    return (seed * 1_000_003 + count) % 2**32


def make_sampler(strategy: str, seed: int, count: int) -> optuna.samplers.BaseSampler:
    rng_seed = mixed_seed(seed, count)
    if strategy == "random":
        return optuna.samplers.RandomSampler(seed=rng_seed)
    if strategy == "sobol":
        # The sequence's own seed stays fixed so every rebuild walks the same sequence.
        return optuna.samplers.QMCSampler(qmc_type="sobol", seed=seed % 2**32, scramble=True)
    if strategy == "tpe":
        return optuna.samplers.TPESampler(seed=rng_seed, n_startup_trials=10)
    if strategy == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=rng_seed, warn_independent_sampling=False)
    if strategy == "gp":
        return optuna.samplers.GPSampler(seed=rng_seed)
    raise ValueError(f"no sampler for strategy {strategy!r}")


def make_pruner(config: dict[str, Any]) -> optuna.pruners.BasePruner:
    kind = config.get("type")
    warmup = int(config.get("warmup_steps", 0))
    if kind == "median":
        startup = int(config.get("startup_trials", 5))
        return optuna.pruners.MedianPruner(n_startup_trials=startup, n_warmup_steps=warmup)
    min_resource = int(config.get("min_resource", 1))
    reduction = int(config.get("reduction_factor", 3))
    if kind == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner(
            min_resource=min_resource, reduction_factor=reduction
        )
    if kind == "hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=min_resource,
            max_resource=int(config.get("max_resource", 100)),
            reduction_factor=reduction,
        )
    raise ValueError(f"no pruner {kind!r}")


def direction(order: str) -> str:
    return "minimize" if order == "min" else "maximize"


def build_study(
    space: Space,
    directions: list[str],
    trials: list[TrialRecord],
    *,
    sampler: optuna.samplers.BaseSampler | None = None,
    pruner: optuna.pruners.BasePruner | None = None,
    state: dict[str, Any] | None = None,
) -> optuna.Study:
    """An in-memory study holding ``trials`` in order, with the sampler's saved notes."""
    study = optuna.create_study(
        directions=directions,
        sampler=sampler or optuna.samplers.RandomSampler(seed=0),
        pruner=pruner or optuna.pruners.NopPruner(),
        study_name="petri",
    )
    state = state or {}
    for key, value in state.get("study", {}).items():
        study._storage.set_study_system_attr(study._study_id, key, value)
    saved_trials = state.get("trials", {})
    for record in trials:
        params, dists = {}, {}
        for dim in space.searched:
            if dim.name not in record.parameters:
                continue
            dist = distribution(dim)
            value = record.parameters[dim.name]
            try:
                if not dist._contains(dist.to_internal_repr(value)):
                    continue
            except (ValueError, TypeError):
                continue
            params[dim.name], dists[dim.name] = value, dist
        values = record.values if record.state == TrialState.COMPLETE else None
        study.add_trial(
            optuna.trial.create_trial(
                state=record.state,
                params=params,
                distributions=dists,
                values=values,
                intermediate_values=record.intermediate,
                user_attrs={"job": record.job_id},
                system_attrs=saved_trials.get(str(record.job_id), {}),
            )
        )
    return study


def ask(study: optuna.Study, space: Space) -> tuple[optuna.trial.Trial, dict[str, Any]]:
    """One new point: the trial and every parameter's value (defaults for inactive ones)."""
    trial = study.ask()
    active: dict[str, Any] = {}
    for name, dim in space.dimensions.items():
        if not dim.active(active):
            continue
        if dim.kind == "fixed":
            active[name] = dim.value
            continue
        dist = distribution(dim)
        if isinstance(dist, CategoricalDistribution):
            active[name] = trial.suggest_categorical(name, dist.choices)
        elif isinstance(dist, IntDistribution):
            active[name] = trial.suggest_int(
                name, dist.low, dist.high, step=dist.step, log=dist.log
            )
        else:
            value = trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)
            active[name] = round(value, 12) if dist.step is not None else value
    return trial, space.complete(active)


def saved_state(study: optuna.Study, job_of_trial: dict[int, int]) -> dict[str, Any]:
    """The sampler's notes to keep: the study's and each trial's system attributes."""
    trials = {}
    for trial in study.get_trials(deepcopy=False):
        job_id = job_of_trial.get(trial.number, trial.user_attrs.get("job"))
        if job_id is not None and trial.system_attrs:
            trials[str(job_id)] = dict(trial.system_attrs)
    study_attrs = study._storage.get_study_system_attrs(study._study_id)
    return {"study": dict(study_attrs), "trials": trials}
