"""One run as the runner hands it over: parameters, input files and the output folder."""

from __future__ import annotations

import json
import math
import numbers
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from petri_kit.graphs import GraphFormatError, compare, read_graph
from petri_kit.report import fail, log

METRICS_FILE = "metrics.json"


@dataclass(frozen=True)
class Job:
    """What the runner's environment variables say about this run."""

    params: dict[str, Any]
    output_dir: Path
    dataset_file: Path | None = None
    truth_file: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Job:
        """Read PETRI_PARAMS_FILE, PETRI_OUTPUT_DIR, PETRI_DATASET_FILE and PETRI_TRUTH_FILE."""
        missing = [v for v in ("PETRI_PARAMS_FILE", "PETRI_OUTPUT_DIR") if not environ.get(v)]
        if missing:
            fail(f"{' and '.join(missing)} not set: the Petri runner starts algorithms")
        params = json.loads(Path(environ["PETRI_PARAMS_FILE"]).read_text())
        if not isinstance(params, dict):
            fail("PETRI_PARAMS_FILE does not hold a JSON object")
        output_dir = Path(environ["PETRI_OUTPUT_DIR"])
        output_dir.mkdir(parents=True, exist_ok=True)
        return cls(
            params=params,
            output_dir=output_dir,
            dataset_file=_optional_path(environ.get("PETRI_DATASET_FILE")),
            truth_file=_optional_path(environ.get("PETRI_TRUTH_FILE")),
        )

    def require_dataset(self, algorithm: str) -> Path:
        """The dataset file; fails the run, naming ``algorithm``, when there is none."""
        if self.dataset_file is None:
            fail(f"{algorithm} needs a dataset (PETRI_DATASET_FILE is not set)")
        return self.dataset_file

    def compare_with_truth(self, graph: dict[str, Any]) -> dict[str, float]:
        """SHD and skeleton scores against the true graph, logged; {} without a truth."""
        if self.truth_file is None:
            return {}
        try:
            truth = read_graph(self.truth_file)
        except (OSError, GraphFormatError) as error:
            fail(f"the true graph cannot be read: {error}")
        comparison = compare(graph, truth)
        log("against the true graph: " + ", ".join(f"{k}={v:.4g}" for k, v in comparison.items()))
        return comparison

    def write_metrics(self, metrics: Mapping[str, float]) -> None:
        """Write metrics.json: the run's final metrics, each a finite number."""
        plain: dict[str, float] = {}
        for name, value in metrics.items():
            finite = isinstance(value, numbers.Real) and math.isfinite(value)
            if isinstance(value, bool) or not finite:
                raise ValueError(f"metric {name!r} must be a finite number, not {value!r}")
            # numpy's numbers become JSON's: integers stay integers.
            plain[name] = int(value) if isinstance(value, numbers.Integral) else float(value)
        text = json.dumps(plain, indent=2) + "\n"
        (self.output_dir / METRICS_FILE).write_text(text)


def _optional_path(value: str | None) -> Path | None:
    return Path(value) if value else None
