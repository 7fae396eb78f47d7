// graph.json drawn with cytoscape (its own chunk, loaded only when a graph is shown).

import { useEffect, useRef } from "preact/hooks";
import type { Graph, GraphEdge } from "../types";

export type EdgeMark = "match" | "reoriented" | "extra" | "missed" | "plain";

export interface Position {
  x: number;
  y: number;
}

/** Nodes on a circle, in a stable order, so two graphs over the same nodes line up. */
export function circlePositions(nodes: string[], radius = 150): Record<string, Position> {
  const positions: Record<string, Position> = {};
  nodes.forEach((node, i) => {
    const angle = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(1, nodes.length);
    positions[node] = { x: radius * Math.cos(angle), y: radius * Math.sin(angle) };
  });
  return positions;
}

export function pairKey(edge: GraphEdge): string {
  return [String(edge.source), String(edge.target)].sort().join("\u0000");
}

/** The edge with its marks: a directed edge keeps its direction, the others only their kind. */
export function orientedKey(edge: GraphEdge): string {
  const type = edge.type ?? "directed";
  return type === "directed" ? `${edge.source}\u0000${edge.target}\u0000>` : `${pairKey(edge)}\u0000${type}`;
}

interface GraphViewProps {
  graph: Graph;
  positions: Record<string, Position>;
  mark?: (edge: GraphEdge) => EdgeMark;
  label: string;
}

export function GraphView({ graph, positions, mark, label }: GraphViewProps) {
  const holder = useRef<HTMLDivElement>(null);

  useEffect(() => {
    let destroyed = false;
    let instance: { destroy(): void } | null = null;
    void import("cytoscape").then(({ default: cytoscape }) => {
      if (destroyed || !holder.current) return;
      const nodes = graph.nodes.map((node) => ({
        data: { id: String(node), label: String(node) },
        position: positions[String(node)] ?? { x: 0, y: 0 },
      }));
      const edges = graph.edges.map((edge, i) => ({
        data: {
          id: `e${i}`,
          source: String(edge.source),
          target: String(edge.target),
          weight: edge.weight ?? null,
          label: typeof edge.weight === "number" ? edge.weight.toFixed(2) : "",
        },
        classes: `${edge.type ?? "directed"} ${mark ? mark(edge) : "plain"}`,
      }));
      instance = cytoscape({
        container: holder.current,
        elements: [...nodes, ...edges],
        layout: { name: "preset", fit: true, padding: 24 },
        userZoomingEnabled: true,
        boxSelectionEnabled: false,
        style: [
          {
            selector: "node",
            style: {
              label: "data(label)",
              "text-valign": "center",
              "text-halign": "center",
              "background-color": "#e8f1ee",
              "border-color": "#2f6f5e",
              "border-width": 1.5,
              color: "#1d2a33",
              "font-size": 12,
              width: 38,
              height: 38,
            },
          },
          {
            selector: "edge",
            style: {
              width: 2,
              "line-color": "#64748b",
              "target-arrow-color": "#64748b",
              "source-arrow-color": "#64748b",
              "curve-style": "bezier",
              "arrow-scale": 1.1,
              label: "data(label)",
              "font-size": 9,
              color: "#64748b",
              "text-background-color": "#ffffff",
              "text-background-opacity": 0.8,
              "text-background-padding": "1px",
            },
          },
          { selector: "edge.directed", style: { "target-arrow-shape": "triangle" } },
          {
            selector: "edge.bidirected",
            style: { "target-arrow-shape": "triangle", "source-arrow-shape": "triangle" },
          },
          {
            selector: "edge.match",
            style: { "line-color": "#2f9e6e", "target-arrow-color": "#2f9e6e", "source-arrow-color": "#2f9e6e" },
          },
          {
            selector: "edge.extra",
            style: { "line-color": "#d9534f", "target-arrow-color": "#d9534f", "source-arrow-color": "#d9534f" },
          },
          {
            selector: "edge.reoriented",
            style: { "line-color": "#d9a441", "target-arrow-color": "#d9a441", "source-arrow-color": "#d9a441" },
          },
          {
            selector: "edge.missed",
            style: { "line-style": "dashed", "line-color": "#8593a0", "target-arrow-color": "#8593a0", "source-arrow-color": "#8593a0" },
          },
        ],
      });
    });
    return () => {
      destroyed = true;
      instance?.destroy();
    };
  }, [graph, positions, mark]);

  return (
    <figure class="graph">
      <figcaption>
        {label}{" "}
        <span class="muted">
          ({graph.nodes.length} nodes, {graph.edges.length} edges)
        </span>
      </figcaption>
      <div class="graph-canvas" ref={holder} data-graph={label} />
    </figure>
  );
}
