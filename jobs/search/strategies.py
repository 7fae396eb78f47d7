"""What searches and pruners Petri offers, known without importing Optuna (study.py does)."""

from __future__ import annotations

import importlib.util

PRUNERS = ("median", "successive_halving", "hyperband")
# Optuna's multi-objective support, by strategy (CMA-ES is single-objective).
MULTI_OBJECTIVE = frozenset({"random", "sobol", "tpe", "gp"})


def gp_available() -> bool:
    """Optuna's GPSampler needs torch, which Petri does not install."""
    return importlib.util.find_spec("torch") is not None


def direction(order: str) -> str:
    """An objective's order ("min" or "max") as Optuna names its direction."""
    return "minimize" if order == "min" else "maximize"
