// A search's study: the objective against the trial (with the best so far), parameter
// importance (fANOVA, computed by the server), the slice plot (objective against each
// parameter) and, for two objectives, the Pareto front. Read from /api/experiments/<id>/study/.

import { useEffect, useState } from "preact/hooks";
import { api } from "../api";
import { niceTicks } from "../chartmath";
import { formatValue } from "../format";
import type { Study, StudyTrial } from "../types";

const WIDTH = 640;
const HEIGHT = 260;
const PAD = { top: 16, right: 20, bottom: 40, left: 64 };

/** How many jobs ended: the study is read again when this changes. */
export function finishedCount(counts: Record<string, number>): number {
  return (counts.succeeded ?? 0) + (counts.failed ?? 0) + (counts.cancelled ?? 0) + (counts.pruned ?? 0);
}

export function StudyViews({ experiment, version }: { experiment: number; version: number }) {
  const [study, setStudy] = useState<Study | null>(null);
  const [error, setError] = useState("");
  const [param, setParam] = useState("");

  useEffect(() => {
    api<Study>(`/api/experiments/${experiment}/study/`).then(
      (body) => {
        setStudy(body);
        setError("");
      },
      (failure) => setError(String(failure)),
    );
  }, [experiment, version]);

  if (error) return <p class="muted">The study cannot be read: {error}</p>;
  if (!study || !study.objectives.length) return null;
  const scored = study.trials.filter((t) => t.values !== null);
  const objective = study.objectives[0];
  const chosen = study.parameters.includes(param) ? param : study.parameters[0];
  return (
    <section class="card study" aria-label="study">
      <h2>
        Study <span class="muted small">({study.strategy}, {scored.length} of {study.trials.length} trials scored)</span>
      </h2>
      {!scored.length && <p class="muted">No trial has {objective.name} yet.</p>}
      {scored.length > 0 && (
        <div class="study-grid">
          <figure>
            <figcaption>{objective.name} against trial</figcaption>
            <History trials={study.trials} name={objective.name} />
          </figure>
          {study.objectives.length > 1 && (
            <figure>
              <figcaption>Pareto front</figcaption>
              <Pareto trials={scored} front={new Set(study.pareto_front)} names={study.objectives.map((o) => o.name)} />
            </figure>
          )}
          <figure>
            <figcaption>Parameter importance</figcaption>
            <Importance importance={study.importance} />
          </figure>
          {chosen && (
            <figure>
              <figcaption>
                Slice:{" "}
                <select name="slice-param" value={chosen} onChange={(e) => setParam(e.currentTarget.value)}>
                  {study.parameters.map((name) => (
                    <option value={name}>{name}</option>
                  ))}
                </select>
              </figcaption>
              <Slice trials={scored} param={chosen} name={objective.name} />
            </figure>
          )}
        </div>
      )}
    </section>
  );
}

type Point = { x: number; y: number; title: string; cls?: string };

function Plot({ points, xLabel, yLabel, line, categories }: { points: Point[]; xLabel: string; yLabel: string; line?: Point[]; categories?: string[] }) {
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y).concat(line?.map((p) => p.y) ?? []);
  const [xMin, xMax] = [Math.min(...xs), Math.max(...xs)];
  const [yMin, yMax] = [Math.min(...ys), Math.max(...ys)];
  const innerW = WIDTH - PAD.left - PAD.right;
  const innerH = HEIGHT - PAD.top - PAD.bottom;
  const sx = (v: number) => PAD.left + (xMax === xMin ? innerW / 2 : ((v - xMin) / (xMax - xMin)) * innerW);
  const sy = (v: number) => PAD.top + (yMax === yMin ? innerH / 2 : (1 - (v - yMin) / (yMax - yMin)) * innerH);
  const xTicks = categories ? categories.map((c, i) => ({ at: i, text: c })) : niceTicks(xMin, xMax).map((v) => ({ at: v, text: formatValue(v) }));
  return (
    <svg class="scatter" viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={`${yLabel} against ${xLabel}`}>
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
        {xLabel}
      </text>
      {line && line.length > 1 && <polyline class="best-line" fill="none" points={line.map((p) => `${sx(p.x)},${sy(p.y)}`).join(" ")} />}
      {points.map((p) => (
        <circle class={`point ${p.cls ?? ""}`} cx={sx(p.x)} cy={sy(p.y)} r={4}>
          <title>{p.title}</title>
        </circle>
      ))}
    </svg>
  );
}

function History({ trials, name }: { trials: StudyTrial[]; name: string }) {
  const points = trials
    .filter((t) => t.values !== null)
    .map((t) => ({ x: t.number, y: t.values![0], title: `trial ${t.number} (job ${t.job}): ${name} ${formatValue(t.values![0])}` }));
  const best = trials.filter((t) => t.best !== null).map((t) => ({ x: t.number, y: t.best![0], title: "" }));
  return (
    <>
      <Plot points={points} line={best} xLabel="trial" yLabel={name} />
      <p class="small">
        Pruned: {trials.filter((t) => t.state === "pruned").length}, failed: {trials.filter((t) => t.state === "fail").length}. The line is the best so far.
      </p>
    </>
  );
}

function Slice({ trials, param, name }: { trials: StudyTrial[]; param: string; name: string }) {
  const withParam = trials.filter((t) => param in t.params);
  if (!withParam.length) return <p class="muted">No scored trial has {param}.</p>;
  const raw = withParam.map((t) => t.params[param]);
  const numeric = raw.every((v) => typeof v === "number");
  const categories = numeric ? undefined : [...new Set(raw.map((v) => String(v)))].sort();
  const points = withParam.map((t, i) => ({
    x: numeric ? (raw[i] as number) : categories!.indexOf(String(raw[i])),
    y: t.values![0],
    title: `trial ${t.number}: ${param}=${formatValue(raw[i])}, ${name} ${formatValue(t.values![0])}`,
  }));
  return <Plot points={points} xLabel={param} yLabel={name} categories={categories} />;
}

function Pareto({ trials, front, names }: { trials: StudyTrial[]; front: Set<number>; names: string[] }) {
  const points = trials.map((t) => ({
    x: t.values![0],
    y: t.values![1],
    cls: front.has(t.number) ? "pareto" : "",
    title: `trial ${t.number}: ${names[0]} ${formatValue(t.values![0])}, ${names[1]} ${formatValue(t.values![1])}${front.has(t.number) ? " (on the front)" : ""}`,
  }));
  return (
    <>
      <Plot points={points} xLabel={names[0]} yLabel={names[1]} />
      <p class="small">{front.size} trials on the Pareto front (filled).</p>
    </>
  );
}

function Importance({ importance }: { importance: Record<string, number> }) {
  const entries = Object.entries(importance).sort((a, b) => b[1] - a[1]);
  if (!entries.length) return <p class="muted">Too few scored trials to say.</p>;
  return (
    <table class="importance">
      <tbody>
        {entries.map(([name, value]) => (
          <tr data-param={name}>
            <th scope="row">{name}</th>
            <td>
              <span class="bar" style={{ width: `${Math.round(value * 100)}%` }} />
            </td>
            <td class="num">{value.toFixed(3)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
