"""Sleep in steps, report progress and a loss, then score (x, y).

Standard library only: tests and local runs need no packages.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time
from pathlib import Path


def say(line: str) -> None:
    # Flushed at once so the harness sees progress while the sleep goes on.
    print(line, flush=True)


def count_rows(path: str) -> int:
    """Data rows of a CSV, not counting the header."""
    with open(path, newline="") as handle:
        return max(sum(1 for row in csv.reader(handle) if row) - 1, 0)


def main() -> None:
    params = json.loads(Path(os.environ["PETRI_PARAMS_FILE"]).read_text())
    output_dir = Path(os.environ["PETRI_OUTPUT_DIR"])
    x, y = float(params["x"]), float(params["y"])
    steps = int(params["steps"])
    duration = float(params["duration"])
    mode = str(params["mode"])
    dataset = os.environ.get("PETRI_DATASET_FILE")

    say(f"sleep-and-score: x={x} y={y} steps={steps} duration={duration}s mode={mode}")
    score = -((x - 1) ** 2) - (y + 2) ** 2
    for step in range(1, steps + 1):
        time.sleep(duration / steps)
        # A loss that falls towards the distance from the optimum, like a training curve.
        loss = (1 - score) / step
        say(f"step {step}/{steps}")
        say(f"::metric loss={loss:.6g} step={step}")
        say(f"::progress {step / steps:.4g}")

    if params["fail"]:
        code = int(params["exit_code"])
        print(
            f"error: failing on purpose with exit code {code}",
            file=sys.stderr,
            flush=True,
        )
        sys.exit(code)

    rows = count_rows(dataset) if dataset else 0
    output_dir.mkdir(parents=True, exist_ok=True)
    metrics = {"score": score, "steps": steps, "rows": rows}
    (output_dir / "metrics.json").write_text(json.dumps(metrics) + "\n")
    (output_dir / "output.txt").write_text(
        f"x={x}\ny={y}\nmode={mode}\nscore={score}\nrows={rows}\n"
    )
    say(f"score={score} rows={rows}")


if __name__ == "__main__":
    main()
