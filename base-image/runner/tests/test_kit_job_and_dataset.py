"""petri_kit.Job (the runner's environment) and read_csv (the dataset)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import petri_kit as kit
import pytest


def failure(action) -> str:
    """The message ``action()`` failed the run with."""
    with contextlib.redirect_stderr(io.StringIO()), pytest.raises(kit.AlgorithmFailed) as caught:
        action()
    return caught.value.message


def test_the_job_reads_the_runner_variables_and_makes_the_output_folder(tmp_path: Path) -> None:
    params = tmp_path / "params.json"
    params.write_text('{"alpha": 0.05, "stable": true}')
    env = {
        "PETRI_PARAMS_FILE": str(params),
        "PETRI_OUTPUT_DIR": str(tmp_path / "out" / "put"),
        "PETRI_DATASET_FILE": str(tmp_path / "data.csv"),
        "PETRI_TRUTH_FILE": "",
    }
    job = kit.Job.from_env(env)
    assert job == kit.Job(
        {"alpha": 0.05, "stable": True}, tmp_path / "out" / "put", tmp_path / "data.csv", None
    )
    assert job.output_dir.is_dir()


def test_a_job_outside_the_runner_fails_naming_the_missing_variables() -> None:
    message = failure(lambda: kit.Job.from_env({}))
    assert "PETRI_PARAMS_FILE and PETRI_OUTPUT_DIR" in message


def test_require_dataset_fails_naming_the_algorithm(tmp_path: Path) -> None:
    assert "PC needs a dataset" in failure(lambda: kit.Job({}, tmp_path).require_dataset("PC"))
    job = kit.Job({}, tmp_path, dataset_file=tmp_path / "d.csv")
    assert job.require_dataset("PC") == tmp_path / "d.csv"


def test_metrics_json_holds_plain_numbers_and_refuses_what_json_cannot_carry(
    tmp_path: Path,
) -> None:
    numpy = pytest.importorskip("numpy")
    job = kit.Job({}, tmp_path)
    job.write_metrics({"edges": numpy.int64(3), "f1": numpy.float64(0.5), "rows": 10})
    text = (tmp_path / "metrics.json").read_text()
    assert json.loads(text) == {"edges": 3, "f1": 0.5, "rows": 10}
    for bad in (float("nan"), float("inf"), True, "1"):
        with pytest.raises(ValueError):
            job.write_metrics({"x": bad})


def test_compare_with_truth_scores_against_the_truth_file_or_gives_nothing(tmp_path: Path) -> None:
    truth = tmp_path / "graph.json"
    edge = {"source": "A", "target": "B", "type": "directed"}
    truth.write_text(json.dumps({"nodes": ["A", "B", "C"], "edges": [edge]}))
    found = {"nodes": ["A", "B", "C"], "edges": [edge, {**edge, "target": "C"}]}
    with contextlib.redirect_stdout(io.StringIO()) as out:
        comparison = kit.Job({}, tmp_path, truth_file=truth).compare_with_truth(found)
    assert (comparison["shd"], comparison["precision"], comparison["recall"]) == (1, 0.5, 1.0)
    assert out.getvalue().startswith("against the true graph: shd=1, precision=0.5")
    assert kit.Job({}, tmp_path).compare_with_truth(found) == {}


def test_a_malformed_truth_fails_the_run_saying_so(tmp_path: Path) -> None:
    truth = tmp_path / "graph.json"
    truth.write_text('{"nodes": ["A"], "edges": [{"source": "A", "target": "Z"')
    job = kit.Job({}, tmp_path, truth_file=truth)
    assert "the true graph cannot be read" in failure(
        lambda: job.compare_with_truth({"nodes": [], "edges": []})
    )


def test_write_graph_refuses_a_malformed_graph_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "graph.json"
    with pytest.raises(kit.GraphFormatError):
        kit.write_graph(path, {"nodes": ["A"], "edges": [{"source": "A", "target": "A"}]})
    assert not path.exists()
    graph = {"nodes": ["A", "B"], "edges": [{"source": "A", "target": "B", "type": "directed"}]}
    kit.write_graph(path, graph)
    assert path.read_text() == json.dumps(graph, indent=2) + "\n"
    assert kit.read_graph(path) == graph


def write(tmp_path: Path, content: bytes) -> Path:
    path = tmp_path / "data.csv"
    path.write_bytes(content)
    return path


def test_read_csv_gives_names_and_numbers_without_a_byte_order_mark(tmp_path: Path) -> None:
    path = write(tmp_path, b"\xef\xbb\xbf a ,b\n1,2.5\n\n-3,4e2\n")
    assert kit.read_csv(path) == (["a", "b"], [[1.0, 2.5], [-3.0, 400.0]])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the dataset is empty"),
        (b"a,a\n1,2\n", "duplicate column names"),
        (b"a,b\n1,2\n3\n", "row 3 has 1 fields, the header has 2"),
        (b"a,b\n1,x\n", "row 2 is not numeric"),
        (b"a,b\n1,nan\n", "missing or infinite values"),
        (b"a,b\n1,inf\n", "missing or infinite values"),
    ],
    ids=["empty", "duplicate-names", "uneven-row", "text-cell", "nan", "infinity"],
)
def test_read_csv_fails_naming_the_first_problem(tmp_path: Path, content, message) -> None:
    assert message in failure(lambda: kit.read_csv(write(tmp_path, content)))
