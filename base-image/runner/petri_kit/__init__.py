"""petri_kit: what every Python algorithm of Petri imports (standard library only).

    import petri_kit as kit

    job = kit.Job.from_env()                 # parameters, dataset, truth, output folder
    names, rows = kit.read_csv(job.require_dataset("PC"))
    kit.progress(0.5); kit.metric(loss=0.3, step=2); kit.log("any text")
    kit.write_graph(job.output_dir / "graph.json", graph)
    job.write_metrics({"edges": 3, **job.compare_with_truth(graph)})
    kit.fail("why it cannot go on")          # exit status 1: reason algorithm_error

It sits beside petri_runner, in the runner image and on the local backend's PYTHONPATH, and the
server imports its graph functions too. The contract it speaks is docs/algorithms.md.
"""

from __future__ import annotations

from petri_kit.dataset import read_csv
from petri_kit.graphs import (
    EDGE_TYPES,
    ENDPOINT_MARKS,
    GraphFormatError,
    compare,
    parse_graph,
    read_graph,
    validate_graph,
    write_graph,
)
from petri_kit.job import Job
from petri_kit.report import (
    FAILURE_REASON,
    AlgorithmFailed,
    fail,
    library_output,
    log,
    metric,
    progress,
)

__all__ = [
    "EDGE_TYPES",
    "ENDPOINT_MARKS",
    "FAILURE_REASON",
    "AlgorithmFailed",
    "GraphFormatError",
    "Job",
    "compare",
    "fail",
    "library_output",
    "log",
    "metric",
    "parse_graph",
    "progress",
    "read_csv",
    "read_graph",
    "validate_graph",
    "write_graph",
]
