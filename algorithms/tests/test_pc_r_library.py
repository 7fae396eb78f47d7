"""pc-r's R code on its own: the JSON reader and writer, the graph comparison, the search.

Needs R (Rscript): marked requires("r"). Starting R costs more than most checks, so each group
of cases is evaluated in one R process by a module-scoped fixture, and each case is still its
own test.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import petri_kit as kit
import pytest

ALGORITHM = Path(__file__).resolve().parents[1] / "pc-r"

pytestmark = pytest.mark.requires("r")


def r_string(text: str) -> str:
    """A Python string as an R string literal (paths in generated R code)."""
    return json.dumps(text)


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


COMPACT_AND_INDENTED = ['{"alpha":0.01,"orient":false,"max_depth":-1}', '{\n  "a" : [ 1 ,2 ]\n}']


@pytest.fixture(scope="module")
def r_json_round_trips(tmp_path_factory) -> Path:
    """The tricky document and the parameter files, read and written back by one R process."""
    folder = tmp_path_factory.mktemp("r-json")
    # ensure_ascii: the reader must decode \\u escapes, surrogate pairs included.
    (folder / "tricky.json").write_text(json.dumps(TRICKY, ensure_ascii=True))
    code = f'json_write(json_read("{folder / "tricky.json"}"), "{folder / "tricky-out.json"}")\n'
    for i, text in enumerate(COMPACT_AND_INDENTED):
        (folder / f"p{i}.json").write_text(text)
        code += (
            f'writeLines(to_json(json_read("{folder / f"p{i}.json"}")), "{folder / f"p{i}-out"}")\n'
        )
    run_r(folder, code)
    return folder


def test_r_json_reads_and_writes_back_a_tricky_document(r_json_round_trips):
    written = (r_json_round_trips / "tricky-out.json").read_text(encoding="utf-8")
    assert json.loads(written) == TRICKY


@pytest.mark.parametrize("index", range(len(COMPACT_AND_INDENTED)), ids=["compact", "indented"])
def test_r_json_reads_compact_and_indented_parameters(r_json_round_trips, index):
    out = (r_json_round_trips / f"p{index}-out").read_text()
    assert json.loads(out) == json.loads(COMPACT_AND_INDENTED[index])


def r_verdicts(folder: Path, documents: list[str], check: str) -> list[str]:
    """`check` (R code reading the file `path`) on each document in one R process.

    Each verdict is "rejected" when the check raised an error, otherwise "accepted".
    """
    paths = []
    for i, text in enumerate(documents):
        path = folder / f"doc-{i}.json"
        path.write_text(text)
        paths.append(r_string(str(path)))
    out = run_r(
        folder,
        f"paths <- c({', '.join(paths)})\n"
        "for (path in paths) cat(tryCatch({"
        + check
        + '; "accepted"}, error = function(e) "rejected"), "\\n")',
    )
    return out.split()


MALFORMED_JSON = ['{"a": 1,}', '{"a" 1}', "[1, 2", '"open', "01", '{"a": tru}', "[1] 2"]


@pytest.fixture(scope="module")
def r_malformed_json_verdicts(tmp_path_factory) -> list[str]:
    return r_verdicts(tmp_path_factory.mktemp("r-bad-json"), MALFORMED_JSON, "json_read(path)")


@pytest.mark.parametrize("index", range(len(MALFORMED_JSON)), ids=MALFORMED_JSON)
def test_r_json_rejects_malformed_text(r_malformed_json_verdicts, index):
    assert len(r_malformed_json_verdicts) == len(MALFORMED_JSON)
    assert r_malformed_json_verdicts[index] == "rejected"


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


MALFORMED_GRAPHS = dict(
    zip(
        [
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
        strict=True,
    )
)
WELL_FORMED_GRAPH = {
    "nodes": ["A", "B", "C"],
    "edges": [
        {"source": "A", "target": "B", "type": "directed", "weight": 0.8},
        {"source": "B", "target": "C", "type": "undirected", "weight": None},
        {"source": "A", "target": "C", "type": "bidirected"},
        {"source": "A", "target": "B", "type": "directed"},
    ],
}


@pytest.fixture(scope="module")
def r_graph_verdicts(tmp_path_factory) -> dict[str, str]:
    """validate_graph on every malformed graph and the well-formed one, in one R process."""
    graphs = {**MALFORMED_GRAPHS, "well-formed": WELL_FORMED_GRAPH}
    verdicts = r_verdicts(
        tmp_path_factory.mktemp("r-validate"),
        [json.dumps(g) for g in graphs.values()],
        "validate_graph(json_read(path))",
    )
    assert len(verdicts) == len(graphs)
    return dict(zip(graphs, verdicts, strict=True))


@pytest.mark.parametrize("case", MALFORMED_GRAPHS)
def test_r_validate_graph_rejects_malformed_graphs(r_graph_verdicts, case):
    assert r_graph_verdicts[case] == "rejected"


def test_r_validate_graph_accepts_weights_nulls_and_repeats(r_graph_verdicts):
    assert r_graph_verdicts["well-formed"] == "accepted"


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


ORIENTATIONS = dict(
    zip(
        ["collider", "non-collider", "meek-r1", "meek-r2", "conflicting-colliders", "meek-r3"],
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
            # Collider 3 -> 2 <- 4 (3 and 4 separated by 1, so 3 - 1 - 4 is no collider), and
            # 1 adjacent to 2, 3 and 4: R3 gives 1 -> 2; 1 - 3 and 1 - 4 stay undirected.
            (
                "c(1, 2), c(1, 3), c(1, 4), c(3, 2), c(4, 2)",
                '"3 4" = 1L',
                {"1->2", "1--3", "1--4", "3->2", "4->2"},
            ),
        ],
        strict=True,
    )
)


@pytest.fixture(scope="module")
def r_orientations(tmp_path_factory) -> dict[str, set[str]]:
    """orient() on every case, in one R process: each case's edges on a line of its own."""
    calls = "".join(
        f"cat(capture.output(orient_edges(4L, list({edges}), list({sepsets}))), '\\n')\n"
        for edges, sepsets, _ in ORIENTATIONS.values()
    )
    lines = run_r(tmp_path_factory.mktemp("r-orient"), ORIENT + calls).splitlines()
    assert len(lines) == len(ORIENTATIONS)
    return {case: set(line.split()) for case, line in zip(ORIENTATIONS, lines, strict=True)}


@pytest.mark.parametrize("case", [c for c in ORIENTATIONS if c != "meek-r3"])
def test_r_orientation_of_colliders_and_meek_rules(r_orientations, case):
    assert r_orientations[case] == ORIENTATIONS[case][2]


def test_r_meek_rule_three_orients_into_the_meeting_point(r_orientations):
    assert r_orientations["meek-r3"] == ORIENTATIONS["meek-r3"][2]


@pytest.fixture(scope="module")
def r_search(tmp_path_factory) -> list[str]:
    """Fisher-z p-values and a skeleton search on hand-made correlations, in one R process."""
    code = (
        # Correlation 0.3 over 103 rows, nothing conditioned on:
        # z = atanh(0.3) = 0.309520, statistic = sqrt(100) * z = 3.09520, p = 2 (1 - Phi(3.0952)).
        # With 2 conditioned on and partial correlation 0 the p-value is 1.
        "corr <- matrix(c(1, 0.3, 0.6, 0.3, 1, 0.5, 0.6, 0.5, 1), 3)\n"
        "cat(fisher_z(corr, 103, 1, 2, integer(0)), '\\n')\n"
        "corr3 <- matrix(c(1, 0.25, 0.5, 0.25, 1, 0.5, 0.5, 0.5, 1), 3)\n"
        "cat(fisher_z(corr3, 103, 1, 2, 3L), '\\n')\n"
        # X -> Y -> Z with correlations 0.6, 0.6 and 0.36 = 0.6 * 0.6: X and Z are
        # dependent, but independent given Y, so only X - Z goes, at depth 1.
        "corr <- matrix(c(1, 0.6, 0.36, 0.6, 1, 0.6, 0.36, 0.6, 1), 3)\n"
        "found <- skeleton(corr, 500, 0.05, -1L)\n"
        "cat(found$adjacent[1, 2], found$adjacent[2, 3], found$adjacent[1, 3], "
        'found$sepsets[["1 3"]], "\\n")'
    )
    lines = run_r(tmp_path_factory.mktemp("r-search"), code).splitlines()
    assert len(lines) == 3
    return lines


def test_r_fisher_z_matches_a_hand_computed_p_value(r_search):
    first, second = (float(line) for line in r_search[:2])
    assert first == pytest.approx(0.0019672, rel=1e-3)
    # 0.25 = 0.5 * 0.5: 1 and 2 are uncorrelated given 3.
    assert second == pytest.approx(1.0)


def test_r_skeleton_separates_the_ends_of_a_chain(r_search):
    assert r_search[2].split() == ["TRUE", "TRUE", "FALSE", "2"]
