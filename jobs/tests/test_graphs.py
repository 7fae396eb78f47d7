"""jobs.graphs: validation, comparison against hand-computed values, GraphML round trips."""

from __future__ import annotations

import json
import random

import petri_kit as kit
import pytest

from jobs import graphs
from jobs.errors import InvalidInput


def graph(*edges: str, nodes: str = "ABCD") -> dict:
    """'A->B', 'A--B' and 'A<->B' strings -> graph.json."""
    parsed = []
    for text in edges:
        for mark, kind in (("<->", "bidirected"), ("->", "directed"), ("--", "undirected")):
            if mark in text:
                source, target = text.split(mark)
                parsed.append({"source": source, "target": target, "type": kind})
                break
    return {"nodes": list(nodes), "edges": parsed}


def scores(precision, recall, f1, tp, fp, fn) -> dict:
    return {
        "precision": pytest.approx(precision),
        "recall": pytest.approx(recall),
        "f1": pytest.approx(f1),
        "true_positives": tp,
        "false_positives": fp,
        "false_negatives": fn,
    }


def test_identical_graphs_score_zero_shd_and_perfect_edges_and_orientations():
    truth = graph("A->B", "B->C", "C--D", "A<->D")
    assert graphs.compare(truth, truth) == {
        "shd": 0,
        "edges": scores(1, 1, 1, 4, 0, 0),
        "orientations": scores(1, 1, 1, 4, 0, 0),
    }


def test_a_reversed_a_missing_and_an_extra_edge_match_the_hand_computed_scores():
    truth = graph("A->B", "B->C", "C--D")
    found = graph("B->A", "B->C", "A->D")
    # Pairs AB (reversed), CD (missing), AD (extra) differ: SHD 3. Skeleton: AB and BC hit,
    # AD is extra, CD is missed. Arrowheads: truth at B (AB) and C (BC); found at A (AB),
    # C (BC), D (AD): one hit of three claimed, of two true; F1 = 2·(1/3)(1/2)/(5/6) = 0.4.
    assert graphs.compare(found, truth) == {
        "shd": 3,
        "edges": scores(2 / 3, 2 / 3, 2 / 3, 2, 1, 1),
        "orientations": scores(1 / 3, 1 / 2, 0.4, 1, 2, 1),
    }


def test_a_directed_edge_for_a_bidirected_one_keeps_half_the_arrowheads():
    result = graphs.compare(graph("A->B"), graph("A<->B"))
    assert result["shd"] == 1
    assert result["edges"] == scores(1, 1, 1, 1, 0, 0)
    assert result["orientations"] == scores(1, 0.5, 2 / 3, 1, 0, 1)


def test_an_undirected_edge_claims_no_arrowhead():
    result = graphs.compare(graph("A--B"), graph("A->B"))
    assert result["shd"] == 1
    assert result["orientations"] == scores(1, 0, 0, 0, 0, 1)


def test_an_empty_graph_makes_no_wrong_claim_but_finds_nothing():
    result = graphs.compare(graph(), graph("A->B", "C->D"))
    assert result["shd"] == 2
    assert result["edges"] == scores(1, 0, 0, 0, 0, 2)


def test_the_same_pair_written_twice_the_same_way_counts_once():
    result = graphs.compare(graph("A->B", "A->B"), graph("A->B"))
    assert result["shd"] == 0
    assert result["edges"]["true_positives"] == 1


def test_shd_and_edge_scores_agree_with_what_the_catalog_algorithms_report():
    rng = random.Random(4)
    nodes = [f"X{i}" for i in range(8)]
    kinds = ("directed", "undirected", "bidirected")

    def random_graph() -> dict:
        pairs = rng.sample([(a, b) for a in nodes for b in nodes if a < b], rng.randint(0, 20))
        edges = [
            {"source": a, "target": b, "type": rng.choice(kinds)}
            if rng.random() < 0.5
            else {"source": b, "target": a, "type": rng.choice(kinds)}
            for a, b in pairs
        ]
        return {"nodes": nodes, "edges": edges}

    for _ in range(200):
        found, truth = random_graph(), random_graph()
        theirs, ours = kit.compare(found, truth), graphs.compare(found, truth)
        assert ours["shd"] == theirs["shd"]
        for key in ("precision", "recall", "f1", "true_positives", "false_positives"):
            assert ours["edges"][key] == pytest.approx(theirs[key])


@pytest.mark.parametrize(
    ("document", "why"),
    [
        ([], "not an object"),
        ({"nodes": "AB", "edges": []}, "nodes not a list"),
        ({"nodes": ["A", "A"], "edges": []}, "duplicate nodes"),
        ({"nodes": ["A"], "edges": [{"source": "A", "target": "Z", "type": "directed"}]}, "node"),
        ({"nodes": ["A"], "edges": [{"source": "A", "target": "A", "type": "directed"}]}, "loop"),
        ({"nodes": ["A", "B"], "edges": [{"source": "A", "target": "B", "type": "x"}]}, "type"),
        (
            {
                "nodes": ["A", "B"],
                "edges": [{"source": "A", "target": "B", "type": "directed", "weight": "heavy"}],
            },
            "weight",
        ),
        (
            {
                "nodes": ["A", "B"],
                "edges": [
                    {
                        "source": "A",
                        "target": "B",
                        "type": "directed",
                        "endpoints": ["dot", "arrow"],
                    }
                ],
            },
            "endpoints",
        ),
        (graph("A->B", "B->A"), "conflicting edges on one pair"),
        ({"nodes": ["A"], "edges": [], "sepsets": "A"}, "sepsets"),
    ],
)
def test_a_malformed_graph_is_refused_naming_the_field(document, why):
    with pytest.raises(InvalidInput) as caught:
        graphs.validate_graph(document, "truth")
    assert list(caught.value.errors) == ["truth"], why


def test_text_that_is_not_json_is_refused():
    with pytest.raises(InvalidInput):
        graphs.parse_graph(b"{nodes", "graph")


def test_graphml_round_trips_types_weights_endpoints_sepsets_and_odd_names():
    original = {
        "nodes": ["a&b", '<q"x>', "C"],
        "edges": [
            {"source": "a&b", "target": '<q"x>', "type": "directed", "weight": 0.125},
            {"source": '<q"x>', "target": "C", "type": "undirected"},
            {
                "source": "C",
                "target": "a&b",
                "type": "bidirected",
                "weight": -3,
                "endpoints": ["arrow", "arrow"],
            },
        ],
        "sepsets": [{"x": "a&b", "y": "C", "set": ['<q"x>']}],
    }
    text = graphs.to_graphml(original)
    back = graphs.from_graphml(text)
    assert back["nodes"] == original["nodes"]
    assert back["sepsets"] == original["sepsets"]
    assert back["edges"] == [
        {"source": "a&b", "target": '<q"x>', "type": "directed", "weight": 0.125},
        {"source": '<q"x>', "target": "C", "type": "undirected"},
        {
            "source": "C",
            "target": "a&b",
            "type": "bidirected",
            "weight": -3.0,
            "endpoints": ["arrow", "arrow"],
        },
    ]
    graphs.validate_graph(back)
    assert json.loads(json.dumps(back)) == back


def test_graphml_is_read_by_networkx_with_direction_per_edge():
    networkx = pytest.importorskip("networkx")
    import io

    text = graphs.to_graphml(graph("A->B", "B--C", nodes="ABC"))
    read = networkx.read_graphml(io.BytesIO(text))
    assert set(read.nodes) == {"A", "B", "C"}
    assert read.edges["A", "B"]["type"] == "directed"
    assert read.edges["B", "C"]["type"] == "undirected"
