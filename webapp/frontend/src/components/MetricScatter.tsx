// A metric against one parameter: one point per grid point, repeats folded into mean ± sd
// (error bars). Read when opened: up to 1,000 jobs that have the metric, never every job.

import { useEffect, useState } from "preact/hooks";
import { api } from "../api";
import type { Aggregate } from "../chartmath";
import { aggregateRepeats, niceTicks } from "../chartmath";
import { formatValue } from "../format";
import type { Job, Page } from "../types";

const WIDTH = 640;
const HEIGHT = 280;
const PAD = { top: 16, right: 20, bottom: 40, left: 64 };
const SAMPLE = 1000;

export function MetricScatter({ experiment, params, metric }: { experiment: number; params: string[]; metric: string | null }) {
  const [open, setOpen] = useState(false);
  const [param, setParam] = useState<string>("");
  const [sample, setSample] = useState<{ jobs: Job[]; total: number } | null>(null);
  const chosen = params.includes(param) ? param : params[0];

  useEffect(() => {
    if (!open || !metric) return;
    const query = new URLSearchParams({ experiment: String(experiment), page_size: String(SAMPLE), ordering: "id" });
    query.append("metric", `${metric}__gt:-1e300`);
    api<Page<Job>>(`/api/jobs/?${query}`).then((page) => setSample({ jobs: page.results, total: page.count }), () => setSample(null));
  }, [open, metric, experiment]);

  return (
    <details class="card scatter-card" onToggle={(e) => setOpen((e.currentTarget as HTMLDetailsElement).open)}>
      <summary>
        <h2>{metric ?? "A metric"} against a parameter</h2>
      </summary>
      {open && metric && chosen && (
        <>
          <label class="inline">
            Parameter{" "}
            <select name="scatter-param" value={chosen} onChange={(e) => setParam(e.currentTarget.value)}>
              {params.map((name) => (
                <option value={name}>{name}</option>
              ))}
            </select>
          </label>
          {sample ? <Plot points={aggregateRepeats(sample.jobs, metric)} param={chosen} metric={metric} /> : <p class="muted">Loading…</p>}
          {sample && sample.total > sample.jobs.length && (
            <p class="small">
              The first {sample.jobs.length} of {sample.total} jobs with {metric}.
            </p>
          )}
        </>
      )}
      {open && (!metric || !chosen) && <p class="muted">It needs a swept parameter and a metric.</p>}
    </details>
  );
}

function Plot({ points, param, metric }: { points: Aggregate[]; param: string; metric: string }) {
  if (!points.length) return <p class="muted">No job has {metric} yet.</p>;
  const raw = points.map((p) => p.parameters[param]);
  const numeric = raw.every((v) => typeof v === "number");
  const categories = numeric ? [] : [...new Set(raw.map((v) => JSON.stringify(v)))].sort();
  const xs = numeric ? (raw as number[]) : raw.map((v) => categories.indexOf(JSON.stringify(v)));
  const lows = points.map((p) => p.mean - p.sd);
  const highs = points.map((p) => p.mean + p.sd);
  const [xMin, xMax] = [Math.min(...xs), Math.max(...xs)];
  const [yMin, yMax] = [Math.min(...lows), Math.max(...highs)];
  const innerW = WIDTH - PAD.left - PAD.right;
  const innerH = HEIGHT - PAD.top - PAD.bottom;
  const sx = (v: number) => PAD.left + (xMax === xMin ? innerW / 2 : ((v - xMin) / (xMax - xMin)) * innerW);
  const sy = (v: number) => PAD.top + (yMax === yMin ? innerH / 2 : (1 - (v - yMin) / (yMax - yMin)) * innerH);
  const xTicks = numeric ? niceTicks(xMin, xMax).map((v) => ({ at: v, text: formatValue(v) })) : categories.map((c, i) => ({ at: i, text: formatValue(JSON.parse(c)) }));
  const repeated = points.some((p) => p.n > 1);
  return (
    <div class="chart-scroll" tabIndex={0} role="region" aria-label={`${metric} against ${param}`}>
      <svg class="scatter" viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={`${metric} against ${param}${repeated ? ", mean ± sd of repeats" : ""}`}>
        <line class="axis" x1={PAD.left} x2={WIDTH - PAD.right} y1={HEIGHT - PAD.bottom} y2={HEIGHT - PAD.bottom} />
        <line class="axis" x1={PAD.left} x2={PAD.left} y1={PAD.top} y2={HEIGHT - PAD.bottom} />
        {xTicks.map((tick) => (
          <text class="tick" x={sx(tick.at)} y={HEIGHT - PAD.bottom + 16} text-anchor="middle">
            {tick.text}
          </text>
        ))}
        {niceTicks(yMin, yMax).map((value) => (
          <text class="tick" x={PAD.left - 6} y={sy(value) + 4} text-anchor="end">
            {formatValue(value)}
          </text>
        ))}
        <text class="label" x={PAD.left + innerW / 2} y={HEIGHT - 6} text-anchor="middle">
          {param}
        </text>
        {points.map((point, i) => (
          <g class="point" data-n={point.n}>
            {point.n > 1 && <line class="error-bar" x1={sx(xs[i])} x2={sx(xs[i])} y1={sy(lows[i])} y2={sy(highs[i])} />}
            <circle cx={sx(xs[i])} cy={sy(point.mean)} r={4}>
              <title>{`${param}=${formatValue(point.parameters[param])}: ${metric} ${formatValue(point.mean)}${point.n > 1 ? ` ± ${formatValue(point.sd)} (${point.n} repeats)` : ""}`}</title>
            </circle>
          </g>
        ))}
      </svg>
      {repeated && <p class="small">Points are the mean of each grid point's repeats; bars span ± one standard deviation.</p>}
    </div>
  );
}
