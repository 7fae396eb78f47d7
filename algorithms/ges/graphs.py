"""Petri graph.json helpers: validation and comparison against a ground truth.

Standard library only, so any algorithm folder can copy it as is.
"""

from __future__ import annotations

import json
from pathlib import Path

EDGE_TYPES = ("directed", "undirected", "bidirected")


class GraphFormatError(ValueError):
    """A graph does not follow the graph.json format."""


def load_graph(path: str | Path) -> dict:
    """Read and validate a graph.json file."""
    graph = json.loads(Path(path).read_text())
    validate_graph(graph)
    return graph


def validate_graph(graph: object) -> None:
    """Raise GraphFormatError unless `graph` follows the graph.json format."""
    if not isinstance(graph, dict):
        raise GraphFormatError("graph must be a JSON object")
    nodes = graph.get("nodes")
    edges = graph.get("edges")
    if not isinstance(nodes, list) or not all(isinstance(n, str) for n in nodes):
        raise GraphFormatError("graph 'nodes' must be a list of strings")
    if len(set(nodes)) != len(nodes):
        raise GraphFormatError("graph 'nodes' must be unique")
    if not isinstance(edges, list):
        raise GraphFormatError("graph 'edges' must be a list")
    known = set(nodes)
    for edge in edges:
        if not isinstance(edge, dict):
            raise GraphFormatError(f"edge must be an object: {edge!r}")
        source, target = edge.get("source"), edge.get("target")
        if source not in known or target not in known:
            raise GraphFormatError(f"edge refers to an unknown node: {edge!r}")
        if source == target:
            raise GraphFormatError(f"self-loop on {source!r}")
        if edge.get("type") not in EDGE_TYPES:
            raise GraphFormatError(f"edge type must be one of {EDGE_TYPES}: {edge!r}")
        weight = edge.get("weight")
        # bool is an int subclass but never a meaningful weight.
        if weight is not None and (isinstance(weight, bool) or not isinstance(weight, int | float)):
            raise GraphFormatError(f"edge weight must be a number or null: {edge!r}")
    adjacencies(graph)  # rejects contradictory edges on one pair


def adjacencies(graph: dict) -> dict[tuple[str, str], str]:
    """Map each adjacent pair (sorted names) to its mark: '->', '<-', '--' or '<->'.

    The arrow is read left to right over the sorted pair, so two graphs agree on
    a pair exactly when their marks are equal.
    """
    marks: dict[tuple[str, str], str] = {}
    for edge in graph["edges"]:
        source, target, kind = edge["source"], edge["target"], edge["type"]
        pair = (source, target) if source < target else (target, source)
        if kind == "directed":
            mark = "->" if pair[0] == source else "<-"
        else:
            mark = "--" if kind == "undirected" else "<->"
        if marks.setdefault(pair, mark) != mark:
            raise GraphFormatError(f"conflicting edges between {pair[0]!r} and {pair[1]!r}")
    return marks


def compare(result: dict, truth: dict) -> dict[str, float]:
    """Compare a result graph with the true graph.

    shd counts node pairs whose edge differs (missing, extra, or another type or
    orientation), one per pair. precision, recall and f1 are over the skeleton.
    An empty prediction has precision 1 and an empty truth has recall 1: neither
    made a wrong claim; f1 is 0 when both precision and recall are 0.
    """
    found, true = adjacencies(result), adjacencies(truth)
    pairs = found.keys() | true.keys()
    shd = sum(1 for pair in pairs if found.get(pair) != true.get(pair))
    hits = len(found.keys() & true.keys())
    precision = hits / len(found) if found else 1.0
    recall = hits / len(true) if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "shd": shd,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "true_positives": hits,
        "false_positives": len(found) - hits,
        "false_negatives": len(true) - hits,
    }
