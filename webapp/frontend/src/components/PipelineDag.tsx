// A pipeline's stages as a DAG: boxes coloured by status, arrows from each upstream stage.

import { layout } from "../dag";
import type { PipelineStage } from "../types";

const W = 180;
const H = 64;
const GAP_X = 70;
const GAP_Y = 24;

export function PipelineDag({ stages, onSelect, selected }: { stages: PipelineStage[]; onSelect: (name: string) => void; selected: string | null }) {
  const { placed, columns, rows } = layout(stages);
  const at = new Map(placed.map((p) => [p.name, { x: p.column * (W + GAP_X), y: p.row * (H + GAP_Y) }]));
  const width = columns * (W + GAP_X) - GAP_X;
  const height = rows * (H + GAP_Y) - GAP_Y;
  return (
    <svg class="dag" viewBox={`-4 -4 ${width + 8} ${height + 8}`} width={width + 8} height={height + 8} role="img" aria-label="pipeline stages">
      <defs>
        <marker id="dag-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M 0 0 L 10 5 L 0 10 z" class="dag-arrowhead" />
        </marker>
      </defs>
      {stages.flatMap((stage) =>
        stage.needs.map((up) => {
          const from = at.get(up);
          const to = at.get(stage.name);
          if (!from || !to) return null;
          const x1 = from.x + W, y1 = from.y + H / 2, x2 = to.x, y2 = to.y + H / 2;
          const bend = (x2 - x1) / 2;
          return <path class="dag-edge" data-edge={`${up}->${stage.name}`} d={`M ${x1} ${y1} C ${x1 + bend} ${y1}, ${x2 - bend} ${y2}, ${x2} ${y2}`} marker-end="url(#dag-arrow)" />;
        }),
      )}
      {stages.map((stage) => {
        const { x, y } = at.get(stage.name)!;
        const runs = stage.experiments ?? [];
        const ended = runs.filter((e) => ["succeeded", "failed", "cancelled"].includes(e.status)).length;
        return (
          <g
            class={`dag-node dag-${stage.status} ${selected === stage.name ? "dag-selected" : ""}`}
            data-stage={stage.name}
            data-status={stage.status}
            transform={`translate(${x} ${y})`}
            tabIndex={0}
            role="button"
            onClick={() => onSelect(stage.name)}
            onKeyDown={(e) => (e.key === "Enter" || e.key === " ") && onSelect(stage.name)}
          >
            <rect width={W} height={H} rx={8} />
            <text x={10} y={22} class="dag-name">{stage.name}</text>
            <text x={10} y={40} class="dag-what">{stage.kind === "compare" ? "compare" : stage.algorithm}</text>
            <text x={10} y={56} class="dag-status">
              {stage.status}
              {stage.kind === "experiment" && runs.length > 0 ? ` · ${ended}/${runs.length} ended` : ""}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
