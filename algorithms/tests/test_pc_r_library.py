"""pc-r's R code on its own: the JSON reader and writer, the graph comparison, the search.

Runs wherever Rscript is installed; .ci/run installs r-base-core so CI always does.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import petri_kit as kit
import pytest

ALGORITHM = Path(__file__).resolve().parents[1] / "pc-r"

pytestmark = pytest.mark.skipif(shutil.which("Rscript") is None, reason="needs Rscript (R)")


def run_r(tmp_path: Path, code: str) -> str:
    """Run R code with pc-r's json.R, graphs.R and pc.R loaded; return its stdout."""
    script = tmp_path / "driver.R"
    sources = "".join(f'source("{ALGORITHM / name}")\n' for name in ("json.R", "graphs.R", "pc.R"))
    script.write_text(sources + code + "\n")
    done = subprocess.run(
        ["Rscript", str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


# The R JSON reader and writer.

TRICKY = {
    "text": 'quote " backslash \\ slash / tab \t newline \n bell \u0007',
    "unicode": "température ∂ 😀",
    "numbers": [0, -1, 2.5, 1e-300, -1.25e10, 123456789012, 0.1, 2 / 3],
    "nested": {"empty_list": [], "empty_object": {}, "null": None, "flags": [True, False]},
    "one": ["single"],
}


def test_r_json_reads_and_writes_back_a_tricky_document(tmp_path):
    source = tmp_path / "in.json"
    # ensure_ascii: the reader must decode \\u escapes, surrogate pairs included.
    source.write_text(json.dumps(TRICKY, ensure_ascii=True))
    run_r(tmp_path, f'json_write(json_read("{source}"), "{tmp_path / "out.json"}")')
    assert json.loads((tmp_path / "out.json").read_text(encoding="utf-8")) == TRICKY


def test_r_json_reads_compact_and_indented_parameters(tmp_path):
    for i, text in enumerate(
        ['{"alpha":0.01,"orient":false,"max_depth":-1}', '{\n  "a" : [ 1 ,2 ]\n}']
    ):
        path = tmp_path / f"p{i}.json"
        path.write_text(text)
        out = run_r(tmp_path, f'cat(to_json(json_read("{path}")))')
        assert json.loads(out) == json.loads(text)


@pytest.mark.parametrize(
    "text", ['{"a": 1,}', '{"a" 1}', "[1, 2", '"open', "01", '{"a": tru}', "[1] 2"]
)
def test_r_json_rejects_malformed_text(tmp_path, text):
    path = tmp_path / "bad.json"
    path.write_text(text)
    out = run_r(
        tmp_path,
        f'r <- tryCatch({{json_read("{path}"); "parsed"}}, error = function(e) "rejected")\ncat(r)',
    )
    assert out == "rejected"


# The R graph comparison, on the hand-computed cases of the Python one.


def graph(*edges: str, nodes: str = "ABCD") -> dict:
    """Build a graph from 'A->B', 'A--B' and 'A<->B' strings."""
    parsed = []
    for text in edges:
        for mark, kind in (("<->", "bidirected"), ("->", "directed"), ("--", "undirected")):
            if mark in text:
                source, target = text.split(mark)
                parsed.append({"source": source, "target": target, "type": kind})
                break
    return {"nodes": list(nodes), "edges": parsed}


def metrics(shd, precision, recall, f1, tp, fp, fn) -> dict:
    return {
        "shd": shd,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "true_positives": tp,
        "false_positives": fp,
        "false_negatives": fn,
    }


COMPARISONS = {
    "identical": (
        graph("A->B", "B->C", "C--D"),
        graph("A->B", "B->C", "C--D"),
        metrics(0, 1, 1, 1, 3, 0, 0),
    ),
    "reversed": (graph("B->A", "B->C"), graph("A->B", "B->C"), metrics(1, 1, 1, 1, 2, 0, 0)),
    "undirected-for-directed": (graph("A--B"), graph("A->B"), metrics(1, 1, 1, 1, 1, 0, 0)),
    "bidirected-for-directed": (graph("A<->B"), graph("A->B"), metrics(1, 1, 1, 1, 1, 0, 0)),
    "missing": (graph("A->B"), graph("A->B", "B->C"), metrics(1, 1, 0.5, 2 / 3, 1, 0, 1)),
    "extra": (graph("A->B", "C--D"), graph("A->B"), metrics(1, 0.5, 1, 2 / 3, 1, 1, 0)),
    "written-the-other-way": (
        graph("B--A", "D<->C"),
        graph("A--B", "C<->D"),
        metrics(0, 1, 1, 1, 2, 0, 0),
    ),
    # Truth A->B->C->D; found A->B right, C->B reversed, B--D extra, C-D missing.
    "mixed": (
        graph("A->B", "C->B", "B--D"),
        graph("A->B", "B->C", "C->D"),
        metrics(3, 2 / 3, 2 / 3, 2 / 3, 2, 1, 1),
    ),
    "empty-result": (graph(), graph("A->B", "C->D"), metrics(2, 1, 0, 0, 0, 0, 2)),
    "both-empty": (graph(), graph(), metrics(0, 1, 1, 1, 0, 0, 0)),
    "wholly-wrong": (graph("A->C"), graph("A->B"), metrics(2, 0, 0, 0, 0, 1, 1)),
    "nodes-only-in-one": (
        graph("A->B", nodes="AB"),
        graph("A->B", "B->E", nodes="ABE"),
        metrics(1, 1, 0.5, 2 / 3, 1, 0, 1),
    ),
}


@pytest.fixture(scope="module")
def r_comparisons(tmp_path_factory):
    """compare_graphs on every case, in one R process."""
    folder = tmp_path_factory.mktemp("r-compare")
    cases = folder / "cases.json"
    cases.write_text(
        json.dumps({k: [found, truth] for k, (found, truth, _) in COMPARISONS.items()})
    )
    out = folder / "out.json"
    run_r(
        folder,
        f'cases <- json_read("{cases}")\n'
        f'json_write(lapply(cases, function(c) compare_graphs(c[[1]], c[[2]])), "{out}")',
    )
    return json.loads(out.read_text())


@pytest.mark.parametrize("case", COMPARISONS)
def test_r_comparison_matches_the_hand_computed_metrics(r_comparisons, case):
    found, truth, expected = COMPARISONS[case]
    assert r_comparisons[case] == pytest.approx(expected)
    # The Python helpers the other algorithms use agree.
    assert kit.compare(found, truth) == pytest.approx(expected)


@pytest.mark.parametrize(
    "bad",
    [
        {"nodes": ["A", "A"], "edges": []},
        {"nodes": ["A", "B"]},
        {"nodes": ["A", "B"], "edges": [{"source": "A", "target": "Z", "type": "directed"}]},
        {"nodes": ["A", "B"], "edges": [{"source": "A", "target": "A", "type": "directed"}]},
        {"nodes": ["A", "B"], "edges": [{"source": "A", "target": "B", "type": "arrow"}]},
        {
            "nodes": ["A", "B"],
            "edges": [{"source": "A", "target": "B", "type": "directed", "weight": "high"}],
        },
        {
            "nodes": ["A", "B"],
            "edges": [{"source": "A", "target": "B", "type": "directed", "weight": True}],
        },
        graph("A->B", "B->A"),
        graph("A->B", "A--B"),
    ],
    ids=[
        "duplicate-nodes",
        "no-edges-list",
        "unknown-node",
        "self-loop",
        "unknown-type",
        "text-weight",
        "bool-weight",
        "both-directions",
        "two-types-on-one-pair",
    ],
)
def test_r_validate_graph_rejects_malformed_graphs(tmp_path, bad):
    path = tmp_path / "graph.json"
    path.write_text(json.dumps(bad))
    out = run_r(
        tmp_path,
        f'r <- tryCatch({{validate_graph(json_read("{path}")); "valid"}}, '
        'error = function(e) "rejected")\ncat(r)',
    )
    assert out == "rejected"


def test_r_validate_graph_accepts_weights_nulls_and_repeats(tmp_path):
    path = tmp_path / "graph.json"
    good = {
        "nodes": ["A", "B", "C"],
        "edges": [
            {"source": "A", "target": "B", "type": "directed", "weight": 0.8},
            {"source": "B", "target": "C", "type": "undirected", "weight": None},
            {"source": "A", "target": "C", "type": "bidirected"},
            {"source": "A", "target": "B", "type": "directed"},
        ],
    }
    path.write_text(json.dumps(good))
    assert run_r(tmp_path, f'validate_graph(json_read("{path}"))\ncat("valid")') == "valid"


# The R search on hand-made inputs.

ORIENT = """
orient_edges <- function(p, edges, sepsets) {
  adjacent <- matrix(FALSE, p, p)
  for (e in edges) adjacent[e[1], e[2]] <- adjacent[e[2], e[1]] <- TRUE
  arrow <- orient(adjacent, sepsets)
  out <- character(0)
  for (e in edges) {
    a <- e[1]; b <- e[2]
    out <- c(out, if (arrow[a, b]) paste0(a, "->", b) else if (arrow[b, a]) paste0(b, "->", a)
                  else paste0(a, "--", b))
  }
  cat(out, sep = "\\n")
}
"""


@pytest.mark.parametrize(
    ("edges", "sepsets", "expected"),
    [
        # 1 - 2 - 3, 1 and 3 separated without 2: a collider.
        ("c(1, 2), c(2, 3)", '"1 3" = integer(0)', {"1->2", "3->2"}),
        # Separated by 2: a chain or a fork, which the data cannot tell apart.
        ("c(1, 2), c(2, 3)", '"1 3" = 2L', {"1--2", "2--3"}),
        # Collider 1 -> 2 <- 3, then 2 - 4 with 1, 3 not adjacent to 4: Meek R1 gives 2 -> 4.
        (
            "c(1, 2), c(3, 2), c(2, 4)",
            '"1 3" = integer(0), "1 4" = 2L, "3 4" = 2L',
            {"1->2", "3->2", "2->4"},
        ),
        # Collider 1 -> 2 <- 3 and a triangle 1 - 2 - 4: R1 gives 2 -> 4 (3 and 4 are
        # not adjacent), then R2 turns 1 - 4 into 1 -> 4 along 1 -> 2 -> 4.
        (
            "c(1, 2), c(3, 2), c(2, 4), c(1, 4)",
            '"1 3" = integer(0), "3 4" = 2L',
            {"1->2", "3->2", "2->4", "1->4"},
        ),
        # Two colliders that disagree on 2 - 3 (path 1 - 2 - 3 - 4, both pairs separated
        # by nothing): the first found, 1 -> 2 <- 3, wins and 3 - 4 stays undirected.
        (
            "c(1, 2), c(2, 3), c(3, 4)",
            '"1 3" = integer(0), "2 4" = integer(0), "1 4" = integer(0)',
            {"1->2", "3->2", "3--4"},
        ),
    ],
    ids=["collider", "non-collider", "meek-r1", "meek-r2", "conflicting-colliders"],
)
def test_r_orientation_of_colliders_and_meek_rules(tmp_path, edges, sepsets, expected):
    code = ORIENT + f"orient_edges(4L, list({edges}), list({sepsets}))"
    assert set(run_r(tmp_path, code).split()) == expected


def test_r_meek_rule_three_orients_into_the_meeting_point(tmp_path):
    # Collider 3 -> 2 <- 4 (3 and 4 separated by 1, so 3 - 1 - 4 is no collider), and
    # 1 adjacent to 2, 3 and 4: R3 gives 1 -> 2; 1 - 3 and 1 - 4 stay undirected.
    code = ORIENT + (
        'orient_edges(4L, list(c(1, 2), c(1, 3), c(1, 4), c(3, 2), c(4, 2)), list("3 4" = 1L))'
    )
    assert set(run_r(tmp_path, code).split()) == {"1->2", "1--3", "1--4", "3->2", "4->2"}


def test_r_fisher_z_matches_a_hand_computed_p_value(tmp_path):
    # Correlation 0.3 over 103 rows, nothing conditioned on:
    # z = atanh(0.3) = 0.309520, statistic = sqrt(100) * z = 3.09520, p = 2 (1 - Phi(3.0952)).
    # With 2 conditioned on and partial correlation 0 the p-value is 1.
    code = (
        "corr <- matrix(c(1, 0.3, 0.6, 0.3, 1, 0.5, 0.6, 0.5, 1), 3)\n"
        "cat(fisher_z(corr, 103, 1, 2, integer(0)), '\\n')\n"
        "corr3 <- matrix(c(1, 0.25, 0.5, 0.25, 1, 0.5, 0.5, 0.5, 1), 3)\n"
        "cat(fisher_z(corr3, 103, 1, 2, 3L), '\\n')"
    )
    first, second = map(float, run_r(tmp_path, code).split())
    assert first == pytest.approx(0.0019672, rel=1e-3)
    # 0.25 = 0.5 * 0.5: 1 and 2 are uncorrelated given 3.
    assert second == pytest.approx(1.0)


def test_r_skeleton_separates_the_ends_of_a_chain(tmp_path):
    # X -> Y -> Z with correlations 0.6, 0.6 and 0.36 = 0.6 * 0.6: X and Z are
    # dependent, but independent given Y, so only X - Z goes, at depth 1.
    code = (
        "corr <- matrix(c(1, 0.6, 0.36, 0.6, 1, 0.6, 0.36, 0.6, 1), 3)\n"
        "found <- skeleton(corr, 500, 0.05, -1L)\n"
        "cat(found$adjacent[1, 2], found$adjacent[2, 3], found$adjacent[1, 3], "
        'found$sepsets[["1 3"]])'
    )
    assert run_r(tmp_path, code).split() == ["TRUE", "TRUE", "FALSE", "2"]
