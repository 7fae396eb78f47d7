// Pipelines: the list, and one pipeline's DAG with each stage's status live from /ws/events/.

import { useMemo, useState } from "preact/hooks";
import { api } from "../api";
import { Card, ErrorBox, LiveBadge, Loading, StatusBadge } from "../components/bits";
import { PipelineDag } from "../components/PipelineDag";
import { formatNumber, formatTime } from "../format";
import { throttle, useLoad } from "../hooks";
import { useLive } from "../live";
import type { LiveMessage, Page, Pipeline, PipelineStage } from "../types";

export function PipelinesPage() {
  const { data, error, reload } = useLoad((signal) => api<Page<Pipeline>>("/api/pipelines/?page_size=100", { signal }), []);
  const refresh = useMemo(() => throttle(reload, 500), []);
  const connected = useLive({
    path: "/ws/events/",
    onMessage: (message: LiveMessage) => message.type === "pipeline.updated" && refresh(),
    refresh,
  });
  return (
    <section>
      <div class="page-head">
        <h1>Pipelines</h1>
        <LiveBadge connected={connected} />
      </div>
      <p class="muted">
        Submit one with <code>petri pipeline submit pipeline.yaml --watch</code> or <code>POST /api/pipelines/</code> (see docs/pipelines.md).
      </p>
      <ErrorBox error={error} />
      {!data ? (
        <Loading />
      ) : data.results.length === 0 ? (
        <p class="muted">No pipelines yet.</p>
      ) : (
        <div class="card flush">
          <table class="table" id="pipelines">
            <thead>
              <tr>
                <th>Name</th>
                <th>Status</th>
                <th>Stages</th>
                <th>Created</th>
              </tr>
            </thead>
            <tbody>
              {data.results.map((p) => (
                <tr data-pipeline={p.id}>
                  <td>
                    <a href={`/pipelines/${p.id}`}>{p.name || `pipeline ${p.id}`}</a>
                  </td>
                  <td>
                    <StatusBadge status={p.status} />
                  </td>
                  <td>{p.stages.map((s) => <StatusBadge status={s.status} key={s.name} />)}</td>
                  <td>{formatTime(p.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function StageDetail({ stage }: { stage: PipelineStage }) {
  const inputs = Object.entries(stage.inputs).map(([kind, from]) => `${kind} from ${from.stage}${from.file ? ` (${from.file})` : ""}`);
  return (
    <Card title={`Stage ${stage.name}`}>
      <p>
        <StatusBadge status={stage.status} /> {stage.kind === "compare" ? "compare" : stage.algorithm} · on failure: {stage.on_failure}
        {inputs.length > 0 && ` · ${inputs.join(", ")}`}
      </p>
      {stage.error && <p class="reason">{stage.error}</p>}
      {(stage.experiments ?? []).length > 0 && (
        <ul class="stage-experiments">
          {stage.experiments!.map((e) => (
            <li data-experiment={e.id}>
              <a href={`/experiments/${e.id}`}>{e.name}</a> <StatusBadge status={e.status} />
              {e.dataset_name && <span class="muted"> on {e.dataset_name}</span>}
            </li>
          ))}
        </ul>
      )}
      {stage.previous_experiments.length > 0 && (
        <p class="muted">
          Earlier runs: {stage.previous_experiments.map((id) => <a href={`/experiments/${id}`}> #{id}</a>)}
        </p>
      )}
    </Card>
  );
}

const SCORES = ["shd", "precision", "recall", "f1", "orientation_precision", "orientation_recall", "orientation_f1"] as const;

function CompareTable({ stage }: { stage: PipelineStage }) {
  const rows = stage.result?.rows ?? [];
  return (
    <Card title={`${stage.name}: every discovery job against its dataset's truth`}>
      <div class="table-scroll">
        <table class="table" id={`compare-${stage.name}`}>
          <thead>
            <tr>
              <th>Algorithm</th>
              <th>Dataset</th>
              <th>Job</th>
              {SCORES.map((s) => <th>{s.replace("orientation_", "arrow ")}</th>)}
              <th>Problem</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr data-job={row.job}>
                <td>{row.algorithm}</td>
                <td>{row.dataset.name || row.dataset.id}</td>
                <td>
                  <a href={`/jobs/${row.job}`}>{row.job}</a>
                </td>
                {SCORES.map((s) => <td class="num">{formatNumber(row[s] ?? null)}</td>)}
                <td class="muted">{row.problem}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {stage.result?.truncated && <p class="muted">The first 10,000 jobs only.</p>}
    </Card>
  );
}

export function PipelinePage({ id }: { id: number }) {
  const { data, error, reload } = useLoad((signal) => api<Pipeline>(`/api/pipelines/${id}/`, { signal }), [id]);
  const [selected, setSelected] = useState<string | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const refresh = useMemo(() => throttle(reload, 400), []);
  const mine = new Set((data?.stages ?? []).flatMap((s) => (s.experiments ?? []).map((e) => e.id)));
  const connected = useLive({
    path: "/ws/events/",
    // Our pipeline changed, or one of its experiments did (its counts): re-read it over REST.
    onMessage: (message: LiveMessage) => {
      if (message.type === "pipeline.updated" && message.data.id === id) refresh();
      else if (message.type === "experiment.updated" && mine.has(message.data.id)) refresh();
    },
    refresh,
  });
  const act = async (what: "cancel" | "retry") => {
    setActionError(null);
    try {
      await api<Pipeline>(`/api/pipelines/${id}/${what}/`, { method: "POST" });
      reload();
    } catch (failure) {
      setActionError(failure);
    }
  };
  if (error) return <ErrorBox error={error} />;
  if (!data) return <Loading />;
  const stage = data.stages.find((s) => s.name === selected) ?? null;
  return (
    <section>
      <div class="page-head">
        <h1>
          {data.name || `pipeline ${data.id}`} <StatusBadge status={data.status} />
        </h1>
        <LiveBadge connected={connected} />
        <span class="row-actions">
          {data.status === "running" && (
            <button class="small danger" onClick={() => act("cancel")}>
              Cancel pipeline
            </button>
          )}
          {(data.status === "failed" || data.status === "cancelled") && (
            <button class="small" onClick={() => act("retry")}>
              Retry pipeline
            </button>
          )}
        </span>
      </div>
      <p class="muted">
        Created {formatTime(data.created_at)}
        {data.finished_at && `, ended ${formatTime(data.finished_at)}`}. Select a stage for its experiments.
      </p>
      <ErrorBox error={actionError} />
      <div class="card dag-card">
        <PipelineDag stages={data.stages} selected={selected} onSelect={setSelected} />
      </div>
      {stage ? (
        <StageDetail stage={stage} />
      ) : (
        data.stages.filter((s) => s.kind === "experiment").map((s) => <StageDetail stage={s} />)
      )}
      {data.stages.filter((s) => s.kind === "compare" && s.result).map((s) => <CompareTable stage={s} />)}
    </section>
  );
}
