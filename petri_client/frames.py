"""Results as a pandas DataFrame for notebooks; the only module of the client that needs pandas."""

from __future__ import annotations

from typing import Any

from petri_client.client import PetriError

# One row per job; parameters and metrics follow as params.<name> and metrics.<name>, the
# column names of the API's export.csv.
JOB_COLUMNS = [
    "id",
    "status",
    "attempt",
    "index",
    "repeat",
    "failure_reason",
    "created_at",
    "started_at",
    "finished_at",
    "runtime",
]
TIME_COLUMNS = ("created_at", "started_at", "finished_at")


def jobs_frame(jobs: list[dict[str, Any]]) -> Any:
    """``jobs`` (as GET /api/jobs/ gives them) as a DataFrame indexed by job id."""
    try:
        import pandas as pd
    except ImportError:
        raise PetriError("results as a DataFrame need pandas: pip install pandas") from None
    params = list(dict.fromkeys(name for job in jobs for name in job.get("parameters", {})))
    metrics = sorted({name for job in jobs for name in (job.get("metrics") or {})})
    rows = [
        {
            **{column: job.get(column) for column in JOB_COLUMNS},
            **{f"params.{name}": job.get("parameters", {}).get(name) for name in params},
            **{f"metrics.{name}": (job.get("metrics") or {}).get(name) for name in metrics},
        }
        for job in jobs
    ]
    columns = [
        *JOB_COLUMNS,
        *(f"params.{name}" for name in params),
        *(f"metrics.{name}" for name in metrics),
    ]
    frame = pd.DataFrame(rows, columns=columns)
    for column in TIME_COLUMNS:
        frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    for column in ("runtime", *(f"metrics.{name}" for name in metrics)):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame.set_index("id")


def study_frame(study: dict[str, Any]) -> Any:
    """A search's trials (GET /api/experiments/<id>/study/) shaped as Optuna's
    ``Study.trials_dataframe()``: number, value (values_<i> for several objectives),
    params_<name>, user_attrs_job and state, one row per trial."""
    try:
        import pandas as pd
    except ImportError:
        raise PetriError("a study as a DataFrame needs pandas: pip install pandas") from None
    several = len(study.get("objectives") or []) > 1
    rows = []
    for trial in study.get("trials", []):
        values = trial.get("values")
        row: dict[str, Any] = {"number": trial["number"]}
        if several:
            for i in range(len(study["objectives"])):
                row[f"values_{i}"] = values[i] if values else None
        else:
            row["value"] = values[0] if values else None
        row.update({f"params_{name}": trial["params"].get(name) for name in study["parameters"]})
        row["user_attrs_job"] = trial["job"]
        row["state"] = trial["state"].upper()
        rows.append(row)
    value_columns = (
        [f"values_{i}" for i in range(len(study["objectives"]))] if several else ["value"]
    )
    columns = [
        "number",
        *value_columns,
        *(f"params_{name}" for name in study.get("parameters", [])),
        "user_attrs_job",
        "state",
    ]
    return pd.DataFrame(rows, columns=columns)
