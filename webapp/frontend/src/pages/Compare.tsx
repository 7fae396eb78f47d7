// Two or more jobs side by side: parameters and metrics (differences marked), their graphs on
// the same node positions, and each graph scored against the first job's and the truth.

import { useEffect, useMemo, useState } from "preact/hooks";
import { api } from "../api";
import { Card, ErrorBox, Loading } from "../components/bits";
import { ComparisonScores } from "../components/ComparisonScores";
import { circlePositions, GraphView } from "../components/GraphView";
import { StepOverlay } from "../components/StepOverlay";
import { formatNumber, formatValue } from "../format";
import { queryParam } from "../router";
import type { Graph, GraphComparison, Job, MetricPoint } from "../types";

interface Loaded {
  jobs: Job[];
  graphs: (Graph | null)[];
  comparisons: GraphComparison[];
  /** Each step metric: one series per job that reported it (its current attempt). */
  steps: Map<string, { label: string; points: { step: number; value: number }[] }[]>;
}

function stepSeries(jobs: Job[], points: MetricPoint[][]): Loaded["steps"] {
  const steps: Loaded["steps"] = new Map();
  jobs.forEach((job, i) => {
    const byName = new Map<string, { step: number; value: number }[]>();
    points[i]
      .filter((point) => point.attempt === undefined || point.attempt === job.attempt)
      .forEach((point, n) => {
        if (!byName.has(point.name)) byName.set(point.name, []);
        byName.get(point.name)!.push({ step: point.step ?? n + 1, value: point.value });
      });
    for (const [name, series] of byName) {
      if (!steps.has(name)) steps.set(name, []);
      steps.get(name)!.push({ label: `job ${job.id}`, points: series });
    }
  });
  return steps;
}

export function ComparePage() {
  const ids = (queryParam("jobs") ?? "")
    .split(",")
    .map((text) => Number.parseInt(text, 10))
    .filter((id) => Number.isFinite(id));
  const key = ids.join(",");
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    if (ids.length < 2) return;
    const load = async () => {
      const jobs = await Promise.all(ids.map((id) => api<Job>(`/api/jobs/${id}/`)));
      const graphs = await Promise.all(ids.map((id) => api<Graph>(`/api/jobs/${id}/graph/`).catch(() => null)));
      const comparisons: GraphComparison[] = [];
      const [first, ...others] = ids;
      if (graphs[0]) {
        for (const [i, other] of others.entries()) {
          if (graphs[i + 1]) comparisons.push(await api<GraphComparison>(`/api/jobs/${other}/compare/?with=${first}`));
        }
      }
      for (const [i, id] of ids.entries()) {
        if (!graphs[i]) continue;
        const truth = await api<GraphComparison>(`/api/jobs/${id}/compare/?with=truth`).catch(() => null);
        if (truth) comparisons.push(truth);
      }
      const points = await Promise.all(ids.map((id) => api<MetricPoint[]>(`/api/jobs/${id}/metrics/`).catch(() => [])));
      setLoaded({ jobs, graphs, comparisons, steps: stepSeries(jobs, points) });
    };
    load().catch(setError);
  }, [key]);

  const positions = useMemo(() => {
    const nodes = (loaded?.graphs ?? []).flatMap((graph) => (graph ? graph.nodes.map(String) : []));
    return circlePositions([...new Set(nodes)]);
  }, [loaded]);

  if (ids.length < 2) return <ErrorBox error="Pick two or more jobs to compare (?jobs=1,2)." />;
  if (error) return <ErrorBox error={error} />;
  if (!loaded) return <Loading />;

  const { jobs, graphs, comparisons, steps } = loaded;
  const params = [...new Set(jobs.flatMap((job) => Object.keys(job.parameters)))];
  const metrics = [...new Set(jobs.flatMap((job) => Object.keys(job.metrics ?? {})))].sort();
  const differs = (values: unknown[]) => new Set(values.map((v) => JSON.stringify(v))).size > 1;

  return (
    <>
      <div class="page-head">
        <h1>Compare {jobs.length} jobs</h1>
      </div>
      <Card title="Parameters and metrics">
        <div class="table-scroll">
          <table class="table compare" id="compare">
            <thead>
              <tr>
                <th scope="col">
                  <span class="visually-hidden">name</span>
                </th>
                {jobs.map((job) => (
                  <th scope="col" data-job={job.id}>
                    <a href={`/jobs/${job.id}`}>job {job.id}</a>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {params.map((name) => {
                const values = jobs.map((job) => job.parameters[name]);
                return (
                  <tr class={differs(values) ? "differs" : ""} data-param={name}>
                    <th scope="row">{name}</th>
                    {values.map((value) => (
                      <td class="num">{formatValue(value)}</td>
                    ))}
                  </tr>
                );
              })}
              {metrics.map((name) => (
                <tr data-metric={name}>
                  <th scope="row">{name}</th>
                  {jobs.map((job) => (
                    <td class="num">{formatNumber(job.metrics?.[name])}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Card>
      {comparisons.length > 0 && (
        <Card title="Graph scores">
          <ComparisonScores
            comparisons={comparisons}
            label={(c) => (c.with === "truth" ? `job ${c.job} against the truth` : `job ${c.job} against job ${c.with}`)}
          />
        </Card>
      )}
      {steps.size > 0 && (
        <Card title="Metrics over steps">
          <div class="charts">
            {[...steps.entries()].map(([name, series]) => (
              <StepOverlay name={name} series={series} />
            ))}
          </div>
        </Card>
      )}
      <Card title="Graphs">
        <div class="graphs">
          {jobs.map((job, i) =>
            graphs[i] ? (
              <GraphView graph={graphs[i]!} positions={positions} label={`job ${job.id}`} />
            ) : (
              <p class="muted">job {job.id} wrote no graph.json</p>
            ),
          )}
        </div>
      </Card>
    </>
  );
}
