"""graph.json for the server: validation naming the field, comparison, and GraphML export.

Parsing, validation and the counting of SHD and scores are the algorithm kit's (petri_kit, in
base-image/runner), so the server judges a graph exactly as the algorithms that report metrics.
Here they raise InvalidInput naming the request's field, and the comparison adds arrowhead
(orientation) scores.
"""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET

from petri_kit import graphs as kit_graphs

from jobs.errors import InvalidInput
from jobs.validators import nul_problem

GRAPHML_NS = "http://graphml.graphdrawing.org/xmlns"
GRAPHML_HEAD = (
    f'<graphml xmlns="{GRAPHML_NS}">'
    '<key id="type" for="edge" attr.name="type" attr.type="string"/>'
    '<key id="weight" for="edge" attr.name="weight" attr.type="double"/>'
    '<key id="endpoints" for="edge" attr.name="endpoints" attr.type="string"/>'
    '<key id="sepsets" for="graph" attr.name="sepsets" attr.type="string"/>'
)


def _bad(field: str, message: str) -> InvalidInput:
    return InvalidInput({field: [message]})


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def parse_json(raw: bytes | str, field: str) -> Any:
    """A JSON document as strict as the databases store it: no NaN, not absurdly nested."""
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except RecursionError:
        raise _bad(field, "is nested too deeply to be a graph") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise _bad(field, f"is not a JSON document: {exc}"[:300]) from None


def parse_graph(raw: bytes | str, field: str = "graph") -> dict[str, Any]:
    """Decode and validate a graph.json document."""
    return validate_graph(parse_json(raw, field), field)


def validate_graph(graph: Any, field: str = "graph") -> dict[str, Any]:
    """Check nodes, edges (type, weight, endpoints) and optional sepsets; return the graph.

    Beyond the kit's rules: what a database could not store (NUL, NaN, huge integers, depth).
    """
    try:
        kit_graphs.validate_graph(graph)
    except kit_graphs.GraphFormatError as error:
        raise _bad(field, str(error)) from None
    except RecursionError:
        raise _bad(field, "is nested too deeply to be a graph") from None
    problem = nul_problem(graph)
    if problem:
        raise _bad(field, problem)
    return graph


def compare(found: dict[str, Any], reference: dict[str, Any]) -> dict[str, Any]:
    """Score `found` against `reference` (the truth, or another job's graph); both valid.

    shd: node pairs whose edge differs (missing, extra, other type or orientation), one each.
    edges: precision/recall/F1 over adjacencies (the skeleton), as the algorithms report them.
    orientations: precision/recall/F1 over arrowheads, so a reversed edge costs one false
    positive and one false negative, and an undirected edge claims no arrowhead at all.
    """
    found_marks, reference_marks = kit_graphs.marks(found), kit_graphs.marks(reference)
    return {
        "shd": kit_graphs.shd(found_marks, reference_marks),
        "edges": kit_graphs.scores(found_marks.keys(), reference_marks.keys()),
        "orientations": kit_graphs.scores(
            kit_graphs.arrowheads(found_marks), kit_graphs.arrowheads(reference_marks)
        ),
    }


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def to_graphml(graph: dict[str, Any]) -> bytes:
    """GraphML with edge type, weight and endpoints as data; sepsets as a JSON graph datum.

    Edges follow edgedefault="directed" and their `type` datum says what they are: readers
    (networkx among them) refuse per-edge `directed="false"` in a directed graph. Written as
    escaped text: building ElementTree elements costs about 5 s on a 100,000-edge graph, this
    0.2 s; xml.etree reads it back (from_graphml).
    """
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n', GRAPHML_HEAD]
    parts.append('<graph id="G" edgedefault="directed">')
    if graph.get("sepsets") is not None:
        parts.append(f'<data key="sepsets">{_escape(json.dumps(graph["sepsets"]))}</data>')
    parts.extend(f'<node id="{_escape(node)}"/>' for node in graph["nodes"])
    for edge in graph["edges"]:
        kind = edge["type"]
        data = f'<data key="type">{kind}</data>'
        if edge.get("weight") is not None:
            data += f'<data key="weight">{float(edge["weight"])!r}</data>'
        if edge.get("endpoints"):
            data += f'<data key="endpoints">{",".join(edge["endpoints"])}</data>'
        parts.append(
            f'<edge source="{_escape(edge["source"])}" target="{_escape(edge["target"])}">'
            f"{data}</edge>"
        )
    parts.append("</graph></graphml>\n")
    return "".join(parts).encode()


def from_graphml(raw: bytes) -> dict[str, Any]:
    """Read back what to_graphml wrote (round trips in tests and for users' scripts)."""
    ns = {"g": GRAPHML_NS}
    root = ET.fromstring(raw)
    element = root.find("g:graph", ns)
    if element is None:
        raise _bad("graph", "GraphML has no <graph>")
    graph: dict[str, Any] = {
        "nodes": [node.get("id") for node in element.findall("g:node", ns)],
        "edges": [],
    }
    for datum in element.findall("g:data", ns):
        if datum.get("key") == "sepsets":
            graph["sepsets"] = json.loads(datum.text or "null")
    for item in element.findall("g:edge", ns):
        edge: dict[str, Any] = {"source": item.get("source"), "target": item.get("target")}
        for datum in item.findall("g:data", ns):
            key, text = datum.get("key"), datum.text or ""
            if key == "weight":
                edge["weight"] = float(text)
            elif key == "endpoints":
                edge["endpoints"] = text.split(",")
            else:
                edge[key] = text
        graph["edges"].append(edge)
    return graph
