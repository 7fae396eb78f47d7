// The job page's graph section: the result beside the true graph, edges marked by agreement.

import { useMemo } from "preact/hooks";
import type { Graph, GraphEdge } from "../types";
import { Card } from "./bits";
import type { EdgeMark } from "./GraphView";
import { circlePositions, GraphView, orientedKey, pairKey } from "./GraphView";

export function Graphs({ result, truth }: { result: Graph | null; truth: Graph | null }) {
  const positions = useMemo(() => {
    const order = [...(truth?.nodes ?? []), ...(result?.nodes ?? [])].map(String);
    return circlePositions([...new Set(order)]);
  }, [result, truth]);
  const marks = useMemo(() => {
    if (!result || !truth) return { result: undefined, truth: undefined };
    const compare = (other: Graph, absent: EdgeMark) => {
      const pairs = new Set(other.edges.map(pairKey));
      const oriented = new Set(other.edges.map(orientedKey));
      return (edge: GraphEdge): EdgeMark =>
        !pairs.has(pairKey(edge)) ? absent : oriented.has(orientedKey(edge)) ? "match" : "reoriented";
    };
    return { result: compare(truth, "extra"), truth: compare(result, "missed") };
  }, [result, truth]);
  if (!result && !truth) return null;
  return (
    <Card title="Graph">
      <div class="graphs">
        {result && <GraphView graph={result} positions={positions} mark={marks.result} label="Result (graph.json)" />}
        {truth && <GraphView graph={truth} positions={positions} mark={marks.truth} label="True graph" />}
      </div>
      {result && truth && (
        <p class="legend small">
          <span class="swatch match" /> in both <span class="swatch reoriented" /> in both, oriented differently <span class="swatch extra" /> only in the result{" "}
          <span class="swatch missed" /> missed (only in the truth)
        </p>
      )}
    </Card>
  );
}
