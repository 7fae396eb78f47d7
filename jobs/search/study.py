"""Optuna, asked and told: an in-memory study rebuilt from Petri's own rows each time.

The job table is the source of truth; the study is a throw-away view of it, so a restarted or
second scheduler rebuilds the same study. What a sampler notes for itself (Optuna's study and
trial system attributes: the Sobol index, CMA-ES's generation) and where its random streams
stand are kept on the experiment, so it asks what the same sampler would in one process.
"""

from __future__ import annotations

import base64
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.samplers._lazy_random_state import LazyRandomState
from optuna.trial import TrialState

from jobs.models import JobStatus
from jobs.search.space import Dimension, Space

optuna.logging.set_verbosity(optuna.logging.WARNING)
# Optuna warns about experimental samplers and adjusted bounds; neither is the user's concern.
warnings.filterwarnings("ignore", module="optuna")
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

_TRIAL_STATES = {
    JobStatus.SUCCEEDED: TrialState.COMPLETE,
    JobStatus.PRUNED: TrialState.PRUNED,
    JobStatus.FAILED: TrialState.FAIL,
    JobStatus.CANCELLED: TrialState.FAIL,
}


def trial_state(status: str) -> TrialState:
    """A job's status as its trial's state: a job not yet ended is a running trial."""
    return _TRIAL_STATES.get(status, TrialState.RUNNING)


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
    """The seed for a search saved before its streams were: reproducible, new per rebuild."""
    return (seed * 1_000_003 + count) % 2**32


def new_sampler(strategy: str, seed: int) -> optuna.samplers.BaseSampler:
    """The sampler for ``strategy``, built as in one Optuna process with this seed."""
    if strategy == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if strategy == "sobol":
        return optuna.samplers.QMCSampler(qmc_type="sobol", seed=seed, scramble=True)
    if strategy == "tpe":
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=10)
    if strategy == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    if strategy == "gp":
        return optuna.samplers.GPSampler(seed=seed)
    raise ValueError(f"no sampler for strategy {strategy!r}")


def make_sampler(
    strategy: str, seed: int, state: dict[str, Any] | None = None, count: int = 0
) -> optuna.samplers.BaseSampler:
    """The sampler with its random streams where ``state`` left them (see ``saved_state``)."""
    sampler = new_sampler(strategy, seed)
    streams = (state or {}).get("rng")
    if streams:
        for name, rng in random_streams(sampler).items():
            if name in streams:
                rng.set_state(_decoded(streams[name]))
    elif count:
        # Asked before streams were saved: reseeding from the seed alone would ask its first
        # points again, so each rebuild draws from a seed of its own, as it then did.
        for rng in random_streams(sampler).values():
            rng.seed(mixed_seed(seed, count))
    return sampler


def random_streams(sampler: optuna.samplers.BaseSampler) -> dict[str, Any]:
    """Every numpy RandomState the sampler (and the samplers inside it) draws from, by name."""
    found: dict[str, Any] = {}
    for name, value in sorted(vars(sampler).items()):
        if isinstance(value, LazyRandomState):
            found[name] = value.rng
        elif isinstance(value, optuna.samplers.BaseSampler):
            for inner, rng in random_streams(value).items():
                found[f"{name}.{inner}"] = rng
    return found


def _encoded(rng: Any) -> dict[str, Any]:
    state = rng.get_state(legacy=False)
    key = base64.b64encode(state["state"]["key"].tobytes()).decode()
    return {"key": key, "pos": state["state"]["pos"], "gauss": [state["has_gauss"], state["gauss"]]}


def _decoded(saved: dict[str, Any]) -> dict[str, Any]:
    key = np.frombuffer(base64.b64decode(saved["key"]), dtype=np.uint32)
    has_gauss, gauss = saved["gauss"]
    return {
        "bit_generator": "MT19937",
        "state": {"key": key, "pos": saved["pos"]},
        "has_gauss": has_gauss,
        "gauss": gauss,
    }


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
    """The sampler's notes to keep: the study's and each trial's system attributes, and where
    its random streams stand."""
    trials = {}
    for trial in study.get_trials(deepcopy=False):
        job_id = job_of_trial.get(trial.number, trial.user_attrs.get("job"))
        if job_id is not None and trial.system_attrs:
            trials[str(job_id)] = dict(trial.system_attrs)
    study_attrs = study._storage.get_study_system_attrs(study._study_id)
    streams = {name: _encoded(rng) for name, rng in random_streams(study.sampler).items()}
    return {"study": dict(study_attrs), "trials": trials, "rng": streams}
