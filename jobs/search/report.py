"""A study as people read it: its trials, the best so far, parameter importance and, for
two objectives, the Pareto front (served by ``GET /api/experiments/<id>/study/``)."""

from __future__ import annotations

from typing import Any

import optuna

from jobs.models import Experiment
from jobs.search import study as studies
from jobs.search.space import parse_space
from jobs.services.search import directions, objective_names, trial_records

# Past this many trials importance is estimated on the latest ones: fANOVA grows with them.
IMPORTANCE_TRIALS = 2000


def study_report(experiment: Experiment) -> dict[str, Any]:
    names = objective_names(experiment)
    space = parse_space(experiment.algorithm.parameter_schema(), experiment.parameters)
    searched = [dim.name for dim in space.searched]
    records = trial_records(experiment) if names else []
    trials = []
    best: list[float] | None = None
    sign = [1 if d == "maximize" else -1 for d in directions(experiment)]
    for number, record in enumerate(records):
        values = record.values
        if values is not None and len(values) == 1:
            if best is None or sign[0] * values[0] > sign[0] * best[0]:
                best = values
        trials.append(
            {
                "number": number,
                "job": record.job_id,
                "state": record.state.name.lower(),
                "params": {k: v for k, v in record.parameters.items() if k in searched},
                "values": values,
                "best": list(best) if best is not None and len(names) == 1 else None,
            }
        )
    report: dict[str, Any] = {
        "strategy": experiment.strategy,
        "objectives": [
            {"name": name, "direction": direction}
            for name, direction in zip(names, directions(experiment), strict=False)
        ],
        "parameters": searched,
        "trials": trials,
        "importance": {},
        "pareto_front": [],
    }
    complete = [r for r in records if r.state == studies.TrialState.COMPLETE]
    if not complete or not searched:
        return report
    study = studies.build_study(space, directions(experiment), complete[-IMPORTANCE_TRIALS:])
    if len(names) > 1:
        numbers = {r.job_id: t["number"] for r, t in zip(records, trials, strict=True)}
        report["pareto_front"] = sorted(numbers[t.user_attrs["job"]] for t in study.best_trials)
    report["importance"] = _importance(study, len(names))
    return report


def _importance(study: optuna.Study, objectives: int) -> dict[str, float]:
    """fANOVA importances of the first objective; empty when too few trials to say."""
    if len(study.trials) < 2:
        return {}
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
    try:
        importance = optuna.importance.get_param_importances(
            study,
            evaluator=evaluator,
            target=(lambda t: t.values[0]) if objectives > 1 else None,
        )
    except (ValueError, RuntimeError):
        return {}  # e.g. every trial took the same values
    return {name: round(float(value), 6) for name, value in importance.items()}
