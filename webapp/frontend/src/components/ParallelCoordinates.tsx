// Parameters against one metric: one vertical axis per swept parameter and one for the metric;
// each job is a line through its values, coloured from worst (red) to best (green). Dragging
// along a numeric axis selects a range of it, which filters the job table (onBrush).

import { memo } from "preact/compat";
import { useState } from "preact/hooks";
import { niceTicks } from "../chartmath";
import { formatValue } from "../format";
import type { Job } from "../types";

interface Axis {
  name: string;
  label: string;
  position: (value: unknown) => number | null; // 0 (bottom) .. 1 (top)
  ticks: { at: number; text: string }[];
  /** The value at a position, for numeric axes (range selection). */
  valueAt?: (at: number) => number;
}

const WIDTH = 900;
const HEIGHT = 300;
const PAD = { top: 28, bottom: 34, left: 60, right: 60 };

function numericAxis(name: string, label: string, values: number[]): Axis {
  const min = Math.min(...values);
  const max = Math.max(...values);
  const span = max - min || 1;
  const position = (value: unknown) =>
    typeof value === "number" && Number.isFinite(value) ? (max === min ? 0.5 : (value - min) / span) : null;
  const ticks =
    max === min
      ? [{ at: 0.5, text: formatValue(min) }]
      : niceTicks(min, max).map((value) => ({ at: (value - min) / span, text: formatValue(value) }));
  return { name, label, position, ticks, valueAt: (at) => min + at * span };
}

function categoricalAxis(name: string, values: unknown[]): Axis {
  const keys = [...new Set(values.map((v) => JSON.stringify(v)))].sort();
  const at = (key: string) => (keys.length === 1 ? 0.5 : keys.indexOf(key) / (keys.length - 1));
  return {
    name,
    label: name,
    position: (value) => (value === undefined ? null : at(JSON.stringify(value))),
    ticks: keys.map((key) => ({ at: at(key), text: formatValue(JSON.parse(key)) })),
  };
}

function axisFor(name: string, values: unknown[]): Axis {
  const defined = values.filter((v) => v !== undefined && v !== null);
  if (defined.length && defined.every((v) => typeof v === "number")) {
    return numericAxis(name, name, defined as number[]);
  }
  return categoricalAxis(name, defined);
}

function colour(goodness: number): string {
  return `hsl(${Math.round(4 + 136 * goodness)}, 62%, 44%)`;
}

export interface ParallelProps {
  jobs: Job[];
  params: string[];
  metric: string | null;
  maximize: boolean;
  bestId: number | null;
  onPick?: (job: Job) => void;
  /** A range dragged on an axis: the parameter's or the metric's values from `low` to `high`. */
  onBrush?: (axis: { name: string; metric: boolean }, low: number, high: number) => void;
}

/** Re-drawn only when its props change, not on every live update of the table beside it. */
export const ParallelCoordinates = memo(function ParallelCoordinates({ jobs, params, metric, maximize, bestId, onPick, onBrush }: ParallelProps) {
  const [drag, setDrag] = useState<{ axis: number; from: number; to: number } | null>(null);
  const axes: Axis[] = params.map((name) => axisFor(name, jobs.map((job) => job.parameters[name])));
  const scored = metric ? jobs.filter((job) => typeof job.metrics?.[metric] === "number") : [];
  let metricAxis: Axis | null = null;
  if (metric && scored.length) {
    metricAxis = numericAxis(metric, `${metric} (${maximize ? "max" : "min"})`, scored.map((job) => job.metrics[metric]));
    axes.push(metricAxis);
  }
  if (axes.length < 2) {
    return (
      <p class="muted">
        {params.length
          ? "The chart fills in as jobs finish with metrics."
          : "No parameter was swept: there is nothing to compare."}
      </p>
    );
  }

  const innerW = WIDTH - PAD.left - PAD.right;
  const innerH = HEIGHT - PAD.top - PAD.bottom;
  const x = (i: number) => PAD.left + (axes.length === 1 ? innerW / 2 : (i * innerW) / (axes.length - 1));
  const y = (t: number) => PAD.top + (1 - t) * innerH;

  /** A pointer's height on the axes, 0 (bottom) .. 1 (top). */
  const toAt = (event: PointerEvent) => {
    const svg = (event.currentTarget as SVGElement).ownerSVGElement!;
    const box = svg.getBoundingClientRect();
    const svgY = ((event.clientY - box.top) / box.height) * HEIGHT;
    return Math.min(1, Math.max(0, 1 - (svgY - PAD.top) / innerH));
  };

  const ordered = [...jobs].sort((a, b) => (a.id === bestId ? 1 : 0) - (b.id === bestId ? 1 : 0));
  return (
    <svg class="parallel" viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label="parallel coordinates">
      {ordered.map((job) => {
        const points: string[] = [];
        axes.forEach((axis, i) => {
          const value = axis === metricAxis ? job.metrics?.[metric!] : job.parameters[axis.name];
          const t = axis.position(value);
          if (t !== null) points.push(`${x(i).toFixed(1)},${y(t).toFixed(1)}`);
        });
        let stroke = "#c5ccd3";
        if (metricAxis && typeof job.metrics?.[metric!] === "number") {
          const t = metricAxis.position(job.metrics[metric!]) ?? 0.5;
          stroke = colour(maximize ? t : 1 - t);
        }
        const best = job.id === bestId;
        return (
          <polyline
            class={best ? "pc-line best" : "pc-line"}
            points={points.join(" ")}
            stroke={stroke}
            stroke-width={best ? 3.5 : 1.6}
            fill="none"
            onClick={() => onPick?.(job)}
          >
            <title>
              {`job ${job.id}: ` +
                params.map((p) => `${p}=${formatValue(job.parameters[p])}`).join(", ") +
                (metric && job.metrics?.[metric] !== undefined ? `; ${metric}=${formatValue(job.metrics[metric])}` : "")}
            </title>
          </polyline>
        );
      })}
      {axes.map((axis, i) => (
        <g class="pc-axis">
          <line x1={x(i)} x2={x(i)} y1={y(0)} y2={y(1)} />
          {onBrush && axis.valueAt && (
            <rect
              class="pc-brush-area"
              data-axis={axis.name}
              x={x(i) - 12}
              width={24}
              y={y(1)}
              height={y(0) - y(1)}
              onPointerDown={(event) => {
                const at = toAt(event);
                (event.currentTarget as Element).setPointerCapture(event.pointerId);
                setDrag({ axis: i, from: at, to: at });
              }}
              onPointerMove={(event) => drag && drag.axis === i && setDrag({ ...drag, to: toAt(event) })}
              onPointerUp={() => {
                if (!drag || drag.axis !== i) return;
                setDrag(null);
                if (Math.abs(drag.to - drag.from) < 0.01) return;
                const [low, high] = [drag.from, drag.to].sort((a, b) => a - b).map((at) => axis.valueAt!(at));
                onBrush({ name: axis.name, metric: axis === metricAxis }, low, high);
              }}
            />
          )}
          {drag && drag.axis === i && (
            <rect
              class="pc-brush"
              x={x(i) - 8}
              width={16}
              y={y(Math.max(drag.from, drag.to))}
              height={Math.abs(y(drag.from) - y(drag.to))}
            />
          )}
          <text class="pc-label" x={x(i)} y={PAD.top - 12} text-anchor="middle">
            {axis.label}
          </text>
          {axis.ticks.map((tick) => (
            <g>
              <line x1={x(i) - 4} x2={x(i)} y1={y(tick.at)} y2={y(tick.at)} />
              <text class="pc-tick" x={x(i) - 7} y={y(tick.at) + 4} text-anchor="end">
                {tick.text}
              </text>
            </g>
          ))}
        </g>
      ))}
    </svg>
  );
});
