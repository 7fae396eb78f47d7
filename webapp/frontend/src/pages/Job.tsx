// One job: live log tail (follows, pausable), metric charts, output files, and its graph.

import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, ApiError } from "../api";
import { Card, ErrorBox, LiveBadge, Loading, ProgressBar, StatusBadge } from "../components/bits";
import { ComparisonScores } from "../components/ComparisonScores";
import { Graphs } from "../components/Graphs";
import { LogTail } from "../components/LogTail";
import { MetricChart } from "../components/MetricChart";
import { elapsed, experimentTitle, formatBytes, formatDuration, formatNumber, formatPercent, formatTime, formatValue } from "../format";
import { throttle, useFrameRender, useNow } from "../hooks";
import { Replay, useLive } from "../live";
import type { Dataset, Experiment, Graph, GraphComparison, Job, LiveMessage, MetricPoint, OutputFile } from "../types";
import { FINAL_STATUSES } from "../types";

interface LogPage {
  lines: string[];
  cursor: number;
  more: boolean;
}

export function JobPage({ id }: { id: number }) {
  const job = useRef<Job | null>(null);
  const [experiment, setExperiment] = useState<Experiment | null>(null);
  const [dataset, setDataset] = useState<Dataset | null>(null);
  const [files, setFiles] = useState<OutputFile[]>([]);
  const [result, setResult] = useState<Graph | null>(null);
  const [truth, setTruth] = useState<Graph | null>(null);
  const [loadError, setLoadError] = useState<Error | null>(null);
  const [actionError, setActionError] = useState("");
  const lines = useRef<string[]>([]);
  const points = useRef<MetricPoint[]>([]);
  const log = useRef({ cursor: 0, busy: false, again: false, alive: true });
  const render = useFrameRender();

  useEffect(
    () => () => {
      log.current.alive = false;
    },
    [],
  );

  const fetchLog = async () => {
    const state = log.current;
    if (state.busy) {
      state.again = true;
      return;
    }
    state.busy = true;
    try {
      do {
        state.again = false;
        let more = true;
        while (more && state.alive) {
          const page = await api<LogPage>(`/api/jobs/${id}/log/?after=${state.cursor}`);
          if (page.lines.length) lines.current.push(...page.lines);
          state.cursor = page.cursor;
          more = page.more;
          render();
        }
      } while (state.again && state.alive);
    } catch {
      /* the next nudge or refresh tries again */
    } finally {
      state.busy = false;
    }
  };

  const refreshFiles = useMemo(
    () =>
      throttle(async () => {
        try {
          setFiles(await api<OutputFile[]>(`/api/jobs/${id}/files/`));
        } catch {
          /* shown by the job refresh */
        }
      }, 500),
    [id],
  );

  const replay = useRef(new Replay<LiveMessage>());
  const refresh = useMemo(
    () =>
      throttle(async () => {
        try {
          await replay.current.read(
            () => Promise.all([api<Job>(`/api/jobs/${id}/`), api<MetricPoint[]>(`/api/jobs/${id}/metrics/`)]),
            ([fresh, reported]) => {
              if (job.current === null) {
                api<Experiment>(`/api/experiments/${fresh.experiment}/`).then((exp) => {
                  setExperiment(exp);
                  if (exp.dataset) api<Dataset>(`/api/datasets/${exp.dataset}/`).then(setDataset, () => null);
                }, () => null);
              }
              job.current = fresh;
              points.current = [];
              addPoints(reported);
            },
            (message) => apply(message),
          );
          setLoadError(null);
          refreshFiles();
          void fetchLog();
        } catch (failure) {
          setLoadError(failure as Error);
        }
        render();
      }, 500),
    [id, render],
  );

  const nudgeLog = useMemo(() => throttle(() => void fetchLog(), 150), [id]);

  /** Metric points, once each (a replayed message may repeat points a read already has). */
  const addPoints = (incoming: MetricPoint[]) => {
    const key = (p: MetricPoint) => `${p.attempt}\u0000${p.name}\u0000${p.step ?? Date.parse(p.time)}`;
    const known = new Set(points.current.map(key));
    for (const point of incoming) {
      if (!known.has(key(point))) {
        known.add(key(point));
        points.current.push(point);
      }
    }
  };

  /** One live message onto the page; true when the job ended or started another attempt. */
  const apply = (message: LiveMessage): boolean => {
    const current = job.current;
    if (!current) return false;
    if (message.type === "job.updated" && message.data.id === id) {
      const update = message.data;
      job.current = {
        ...current,
        ...update,
        failure_reason: update.failure_reason ?? current.failure_reason,
        metrics: update.metrics ?? (FINAL_STATUSES.has(update.status) ? current.metrics : {}),
      };
      return FINAL_STATUSES.has(update.status) !== FINAL_STATUSES.has(current.status) || update.attempt !== current.attempt;
    }
    if (message.type === "job.metric" && message.data.job === id) {
      addPoints(message.data.points.map((point) => ({ ...point, attempt: message.data.attempt })));
    }
    return false;
  };

  const onMessage = (message: LiveMessage) => {
    replay.current.note(message);
    if (message.type === "job.log" && message.data.job === id) {
      nudgeLog(); // lines are read over REST by cursor: none lost, none twice
      return;
    }
    if (apply(message)) refresh(); // final metrics, error and files are read over REST
    render();
  };

  const current = job.current;
  const connected = useLive({
    path: current ? `/ws/experiments/${current.experiment}/` : null,
    onMessage,
    refresh,
    pollMs: 2000,
  });
  // Loaded once before the socket's path is known.
  useEffect(() => refresh(), [refresh]);

  const graphFile = files.find((file) => file.name === "graph.json" || file.name.endsWith("/graph.json"));
  useEffect(() => {
    if (!graphFile) return setResult(null);
    fetch(graphFile.url, { credentials: "same-origin" })
      .then((answer) => (answer.ok ? answer.json() : null))
      .then((graph) => setResult(graph && Array.isArray(graph.nodes) ? (graph as Graph) : null))
      .catch(() => setResult(null));
  }, [graphFile?.url, graphFile?.size, graphFile?.attempt]);
  useEffect(() => {
    if (!dataset?.has_truth) return setTruth(null);
    api<Graph>(`/api/datasets/${dataset.id}/truth/`).then(setTruth, () => setTruth(null));
  }, [dataset?.id, dataset?.has_truth]);
  // Scored by the server, the same numbers as the API and CLI give.
  const [againstTruth, setAgainstTruth] = useState<GraphComparison | null>(null);
  useEffect(() => {
    if (!result || !truth) return setAgainstTruth(null);
    api<GraphComparison>(`/api/jobs/${id}/compare/?with=truth`).then(setAgainstTruth, () => setAgainstTruth(null));
  }, [result, truth, id]);

  const now = useNow(current !== null && !FINAL_STATUSES.has(current.status));

  if (loadError && !current) return <ErrorBox error={loadError} />;
  if (!current) return <Loading />;

  const act = async (action: "cancel" | "retry") => {
    setActionError("");
    try {
      job.current = await api<Job>(`/api/jobs/${id}/${action}/`, { method: "POST" });
      render();
    } catch (failure) {
      setActionError(failure instanceof ApiError ? failure.message : String(failure));
    }
  };

  const byMetric = new Map<string, MetricPoint[]>();
  for (const point of points.current) {
    if (point.attempt !== undefined && point.attempt !== current.attempt) continue;
    if (!byMetric.has(point.name)) byMetric.set(point.name, []);
    byMetric.get(point.name)!.push(point);
  }
  for (const series of byMetric.values()) series.sort((a, b) => (a.step ?? 0) - (b.step ?? 0));
  const finalMetrics = Object.entries(current.metrics ?? {});

  return (
    <>
      <div class="page-head">
        <h1>Job {current.id}</h1>
        <StatusBadge status={current.status} />
        <LiveBadge connected={connected} />
        <span class="spacer" />
        {!FINAL_STATUSES.has(current.status) && current.status !== "cancelling" && (
          <button class="danger" onClick={() => act("cancel")}>
            Cancel job
          </button>
        )}
        {(current.status === "failed" || current.status === "cancelled") && (
          <button onClick={() => act("retry")}>Retry job</button>
        )}
      </div>
      <p class="crumbs">
        <a href={`/experiments/${current.experiment}`}>← {experiment ? experimentTitle(experiment) : `experiment ${current.experiment}`}</a>
        {experiment && <span class="muted"> · {experiment.algorithm}</span>}
      </p>
      <ErrorBox error={actionError || loadError} />

      <div class="split">
        <Card title="Run">
          <dl class="facts">
            <div>
              <dt>Attempt</dt>
              <dd>
                {current.attempt} of {current.max_attempts}
              </dd>
            </div>
            <div>
              <dt>Progress</dt>
              <dd class="progress-cell">
                <ProgressBar value={current.progress} /> {formatPercent(current.progress)}
              </dd>
            </div>
            <div>
              <dt>Started</dt>
              <dd>{formatTime(current.started_at)}</dd>
            </div>
            <div>
              <dt>Runtime</dt>
              <dd>{formatDuration(elapsed(current.started_at, current.finished_at, now))}</dd>
            </div>
            {current.failure_reason && (
              <div>
                <dt>Failure</dt>
                <dd>
                  {current.failure_reason}
                  {current.exit_code != null ? ` (exit code ${current.exit_code})` : ""}
                </dd>
              </div>
            )}
          </dl>
          {current.error && <pre class="error-text">{current.error}</pre>}
        </Card>
        <Card title="Parameters">
          <table class="kv">
            {Object.entries(current.parameters).map(([name, value]) => (
              <tr>
                <th>{name}</th>
                <td>{formatValue(value)}</td>
              </tr>
            ))}
            {current.repeat > 0 && (
              <tr>
                <th>repeat</th>
                <td>{current.repeat}</td>
              </tr>
            )}
          </table>
        </Card>
        <Card title="Metrics">
          {finalMetrics.length ? (
            <table class="kv" id="final-metrics">
              {finalMetrics.map(([name, value]) => (
                <tr>
                  <th>{name}</th>
                  <td>{formatNumber(value)}</td>
                </tr>
              ))}
            </table>
          ) : (
            <p class="muted">{FINAL_STATUSES.has(current.status) ? "No final metrics." : "Final metrics arrive when the job ends."}</p>
          )}
        </Card>
      </div>

      <LogTail lines={lines.current} total={lines.current.length} />

      {byMetric.size > 0 && (
        <Card title="Metrics over steps">
          <div class="charts">
            {[...byMetric.entries()].map(([name, series]) => (
              <MetricChart name={name} points={series} />
            ))}
          </div>
        </Card>
      )}

      <Card title="Output files">
        {files.length ? (
          <table class="table" id="files">
            <thead>
              <tr>
                <th>Name</th>
                <th>Size</th>
                <th>Written</th>
              </tr>
            </thead>
            <tbody>
              {files.map((file) => (
                <tr>
                  <td>
                    <a href={file.url} download={file.name.split("/").pop()}>
                      {file.name}
                    </a>
                  </td>
                  <td>{formatBytes(file.size)}</td>
                  <td>{formatTime(file.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p class="muted">{FINAL_STATUSES.has(current.status) ? "This attempt wrote no files." : "Files appear as the job writes them."}</p>
        )}
      </Card>

      {againstTruth && (
        <Card title="Against the true graph">
          <ComparisonScores comparisons={[againstTruth]} label={() => "true graph"} />
        </Card>
      )}
      <Graphs result={result} truth={truth} />
    </>
  );
}
