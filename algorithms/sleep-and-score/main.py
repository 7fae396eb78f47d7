"""Sleep in steps, report progress and a loss, then score (x, y).

Standard library and petri_kit only: tests and local runs need no packages.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import petri_kit as kit


def count_rows(path: Path) -> int:
    """Data rows of a CSV, not counting the header."""
    with open(path, newline="") as handle:
        return max(sum(1 for row in csv.reader(handle) if row) - 1, 0)


def run(job: kit.Job) -> None:
    """Sleep, report a falling loss per step, then write metrics.json and output.txt."""
    params = job.params
    x, y = float(params["x"]), float(params["y"])
    steps = int(params["steps"])
    duration = float(params["duration"])
    mode = str(params["mode"])

    kit.log(f"sleep-and-score: x={x} y={y} steps={steps} duration={duration}s mode={mode}")
    score = -((x - 1) ** 2) - (y + 2) ** 2
    for step in range(1, steps + 1):
        time.sleep(duration / steps)
        # A loss that falls towards the distance from the optimum, like a training curve.
        kit.log(f"step {step}/{steps}")
        kit.metric(loss=(1 - score) / step, step=step)
        kit.progress(step / steps)

    if params["fail"]:
        code = int(params["exit_code"])
        kit.fail(f"failing on purpose with exit code {code}", exit_code=code)

    rows = count_rows(job.dataset_file) if job.dataset_file else 0
    job.write_metrics({"score": score, "steps": steps, "rows": rows})
    (job.output_dir / "output.txt").write_text(
        f"x={x}\ny={y}\nmode={mode}\nscore={score}\nrows={rows}\n"
    )
    kit.log(f"score={score} rows={rows}")


if __name__ == "__main__":
    run(kit.Job.from_env())
