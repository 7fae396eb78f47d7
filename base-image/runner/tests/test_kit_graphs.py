"""petri_kit.graphs: SHD and skeleton scores against hand-computed cases, and validation."""

from __future__ import annotations

import pytest
from petri_kit import graphs as kit_graphs


def graph(*edges: str, nodes: str = "ABCD") -> dict:
    """Build a graph from 'A->B', 'A--B' and 'A<->B' strings."""
    parsed = []
    for text in edges:
        for mark, kind in (
            ("<->", "bidirected"),
            ("->", "directed"),
            ("--", "undirected"),
        ):
            if mark in text:
                source, target = text.split(mark)
                parsed.append({"source": source, "target": target, "type": kind})
                break
    return {"nodes": list(nodes), "edges": parsed}


def test_identical_graphs_have_zero_shd_and_perfect_scores():
    truth = graph("A->B", "B->C", "C--D")
    assert kit_graphs.compare(truth, truth) == {
        "shd": 0,
        "precision": 1.0,
        "recall": 1.0,
        "f1": 1.0,
        "true_positives": 3,
        "false_positives": 0,
        "false_negatives": 0,
    }


@pytest.mark.parametrize(
    ("found", "why"),
    [
        ("B->A", "reversed"),
        ("A--B", "undirected for directed"),
        ("A<->B", "bidirected for directed"),
    ],
)
def test_an_edge_of_another_type_or_orientation_costs_one_but_keeps_the_skeleton(found, why):
    result = kit_graphs.compare(graph(found, "B->C"), graph("A->B", "B->C"))
    assert result["shd"] == 1, why
    assert (result["precision"], result["recall"], result["f1"]) == (1.0, 1.0, 1.0)


def test_a_missing_edge_costs_one_and_lowers_recall():
    result = kit_graphs.compare(graph("A->B"), graph("A->B", "B->C"))
    assert result["shd"] == 1
    assert result["precision"] == 1.0
    assert result["recall"] == 0.5
    assert result["f1"] == pytest.approx(2 / 3)


def test_an_extra_edge_costs_one_and_lowers_precision():
    result = kit_graphs.compare(graph("A->B", "C--D"), graph("A->B"))
    assert result["shd"] == 1
    assert result["precision"] == 0.5
    assert result["recall"] == 1.0
    assert result["false_positives"] == 1


def test_undirected_and_bidirected_edges_match_whichever_way_they_are_written():
    result = kit_graphs.compare(graph("B--A", "D<->C"), graph("A--B", "C<->D"))
    assert result["shd"] == 0


def test_mixed_case_matches_hand_computation():
    # Truth A->B->C->D. Found: A->B right, C->B reversed, B--D extra, C-D missing.
    # SHD: B-C, B-D and C-D differ = 3. Skeleton: 2 of 3 found adjacencies are true,
    # 2 of 3 true adjacencies are found.
    result = kit_graphs.compare(graph("A->B", "C->B", "B--D"), graph("A->B", "B->C", "C->D"))
    assert result["shd"] == 3
    assert result["precision"] == pytest.approx(2 / 3)
    assert result["recall"] == pytest.approx(2 / 3)
    assert result["f1"] == pytest.approx(2 / 3)
    assert (
        result["true_positives"],
        result["false_positives"],
        result["false_negatives"],
    ) == (2, 1, 1)


def test_an_empty_result_has_full_precision_no_recall_and_zero_f1():
    result = kit_graphs.compare(graph(), graph("A->B", "C->D"))
    assert (result["shd"], result["precision"], result["recall"], result["f1"]) == (
        2,
        1.0,
        0.0,
        0.0,
    )


def test_two_empty_graphs_agree():
    result = kit_graphs.compare(graph(), graph())
    assert (result["shd"], result["precision"], result["recall"], result["f1"]) == (
        0,
        1.0,
        1.0,
        1.0,
    )


def test_wholly_wrong_result_has_zero_f1():
    result = kit_graphs.compare(graph("A->C"), graph("A->B"))
    assert (result["shd"], result["precision"], result["recall"], result["f1"]) == (
        2,
        0.0,
        0.0,
        0.0,
    )


def test_nodes_only_in_one_graph_are_compared_by_name():
    result = kit_graphs.compare(graph("A->B", nodes="AB"), graph("A->B", "B->E", nodes="ABE"))
    assert result["shd"] == 1
    assert result["recall"] == 0.5


@pytest.mark.parametrize(
    "bad",
    [
        [],
        {"nodes": ["A", "A"], "edges": []},
        {"nodes": ["A", "B"]},
        {
            "nodes": ["A", "B"],
            "edges": [{"source": "A", "target": "Z", "type": "directed"}],
        },
        {
            "nodes": ["A", "B"],
            "edges": [{"source": "A", "target": "A", "type": "directed"}],
        },
        {
            "nodes": ["A", "B"],
            "edges": [{"source": "A", "target": "B", "type": "arrow"}],
        },
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
        "not-an-object",
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
def test_validate_graph_rejects_malformed_graphs(bad):
    with pytest.raises(kit_graphs.GraphFormatError):
        kit_graphs.validate_graph(bad)


def test_validate_graph_accepts_weights_and_nulls():
    kit_graphs.validate_graph(
        {
            "nodes": ["A", "B", "C"],
            "edges": [
                {"source": "A", "target": "B", "type": "directed", "weight": 0.8},
                {"source": "B", "target": "C", "type": "undirected", "weight": None},
                {"source": "A", "target": "C", "type": "bidirected"},
            ],
        }
    )
    # A repeated identical edge is harmless.
    kit_graphs.validate_graph(graph("A->B", "A->B"))
