"""graph.json: reading, validating, writing, and comparing a graph with the true one.

Pure functions over plain dicts, fast enough for a 100,000-edge graph; the server builds its
comparison of two jobs and its GraphML export on them (``jobs/graphs.py``).
"""

from __future__ import annotations

import json
from collections.abc import Set
from pathlib import Path
from typing import Any

EDGE_TYPES = ("directed", "undirected", "bidirected")
ENDPOINT_MARKS = ("arrow", "tail", "circle")

Pair = tuple[str, str]


class GraphFormatError(ValueError):
    """A document that does not follow the graph.json format; the message says where."""


def parse_graph(raw: bytes | str) -> dict[str, Any]:
    """Decode and validate a graph.json document."""
    try:
        graph = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise GraphFormatError("is not a JSON document") from None
    return validate_graph(graph)


def read_graph(path: str | Path) -> dict[str, Any]:
    """Read and validate a graph.json file."""
    return parse_graph(Path(path).read_bytes())


def write_graph(path: str | Path, graph: dict[str, Any]) -> None:
    """Validate ``graph`` and write it as indented JSON (the catalog's byte format)."""
    validate_graph(graph)
    Path(path).write_text(json.dumps(graph, indent=2) + "\n")


def validate_graph(graph: Any) -> dict[str, Any]:
    """Check nodes, edges (type, weight, endpoints) and optional sepsets; return the graph."""
    if not isinstance(graph, dict):
        raise GraphFormatError("must be an object with 'nodes' and 'edges'")
    nodes, edges = graph.get("nodes"), graph.get("edges")
    if not isinstance(nodes, list) or not all(isinstance(n, str) for n in nodes):
        raise GraphFormatError("'nodes' must be a list of strings")
    known = set(nodes)
    if len(known) != len(nodes):
        raise GraphFormatError("'nodes' must be unique")
    if not isinstance(edges, list):
        raise GraphFormatError("'edges' must be a list")
    numbers = (int, float)  # exact types: bool is an int but never a weight
    for edge in edges:
        # The common case costs a few look-ups: a 100,000-edge graph is checked on load.
        if (
            type(edge) is not dict
            or (source := edge.get("source")) not in known
            or (target := edge.get("target")) not in known
            or source == target
            or edge.get("type") not in EDGE_TYPES
            or ((weight := edge.get("weight")) is not None and type(weight) not in numbers)
            or ("endpoints" in edge and not _valid_endpoints(edge["endpoints"]))
        ):
            raise GraphFormatError(_edge_problem(edge, known))
    sepsets = graph.get("sepsets")
    if sepsets is not None and not isinstance(sepsets, list | dict):
        raise GraphFormatError("'sepsets' must be a list or an object")
    marks(graph)  # rejects two contradicting edges on one pair
    return graph


def _valid_endpoints(ends: Any) -> bool:
    return ends is None or (
        isinstance(ends, list) and len(ends) == 2 and all(e in ENDPOINT_MARKS for e in ends)
    )


def _edge_problem(edge: Any, known: set[str]) -> str:
    """What is wrong with an edge the fast check refused."""
    if not isinstance(edge, dict):
        return f"edge {edge!r} must be an object"
    if edge.get("source") not in known or edge.get("target") not in known:
        return f"edge {edge!r} does not join two listed nodes"
    if edge["source"] == edge["target"]:
        return f"edge {edge!r} is a self-loop"
    if edge.get("type") not in EDGE_TYPES:
        return f"edge {edge!r}: type must be one of {', '.join(EDGE_TYPES)}"
    if not _valid_endpoints(edge.get("endpoints")):
        return f"edge {edge!r}: endpoints must be two of {', '.join(ENDPOINT_MARKS)}"
    return f"edge {edge!r}: weight must be a number or null"


def marks(graph: dict[str, Any]) -> dict[Pair, str]:
    """Each adjacent pair (names sorted) -> its mark '->', '<-', '--' or '<->'.

    Arrows read left to right over the sorted pair, so two graphs agree on a pair exactly
    when their marks are equal.
    """
    result: dict[Pair, str] = {}
    for edge in graph.get("edges", []):
        source, target, kind = edge["source"], edge["target"], edge["type"]
        if source < target:
            pair, mark = (source, target), "->"
        else:
            pair, mark = (target, source), "<-"
        if kind != "directed":
            mark = "--" if kind == "undirected" else "<->"
        if result.setdefault(pair, mark) != mark:
            raise GraphFormatError(f"conflicting edges between {pair[0]!r} and {pair[1]!r}")
    return result


def arrowheads(pair_marks: dict[Pair, str]) -> set[tuple[str, str, int]]:
    """(pair..., side) for every arrowhead, side 0 or 1: where a graph claims 'not an ancestor'."""
    heads: set[tuple[str, str, int]] = set()
    for (a, b), mark in pair_marks.items():
        if mark in ("->", "<->"):
            heads.add((a, b, 1))
        if mark in ("<-", "<->"):
            heads.add((a, b, 0))
    return heads


def shd(found_marks: dict[Pair, str], reference_marks: dict[Pair, str]) -> int:
    """Structural Hamming distance: pairs whose edge differs (missing, extra, other mark)."""
    common = found_marks.keys() & reference_marks.keys()
    differing = sum(1 for pair in common if found_marks[pair] != reference_marks[pair])
    return differing + len(found_marks) + len(reference_marks) - 2 * len(common)


def scores(found: Set, reference: Set) -> dict[str, float]:
    """Precision, recall, F1: no claim is no wrong claim (1.0); F1 is 0 when both are 0."""
    hits = len(found & reference)
    precision = hits / len(found) if found else 1.0
    recall = hits / len(reference) if reference else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "true_positives": hits,
        "false_positives": len(found) - hits,
        "false_negatives": len(reference) - hits,
    }


def compare(found: dict[str, Any], truth: dict[str, Any]) -> dict[str, float]:
    """The metrics a graph algorithm reports against the true graph.

    shd counts node pairs whose edge differs (missing, extra, or another type or orientation),
    one per pair; precision, recall, F1 and the counts are over the skeleton (adjacencies).
    """
    found_marks, true_marks = marks(found), marks(truth)
    return {"shd": shd(found_marks, true_marks), **scores(found_marks.keys(), true_marks.keys())}
