// One experiment: its jobs live, with cancel/retry, a parallel-coordinates chart, the best job
// and a CSV export.

import { useMemo, useRef, useState } from "preact/hooks";
import { api, ApiError, getAll } from "../api";
import { BestJob } from "../components/BestJob";
import { Card, ErrorBox, LiveBadge, Loading, StatusBadge } from "../components/bits";
import { ExperimentSummary } from "../components/ExperimentSummary";
import type { SortKey } from "../components/JobTable";
import { JobTable } from "../components/JobTable";
import { ParallelCoordinates } from "../components/ParallelCoordinates";
import { SharePanel } from "../components/SharePanel";
import { download, toCsv } from "../csv";
import { elapsed, experimentTitle } from "../format";
import { throttle, useFrameRender, useNow } from "../hooks";
import { Replay, useLive } from "../live";
import { guessMaximize, preferredMetric } from "../metrics";
import { navigate } from "../router";
import { useUser } from "../session";
import type { Dataset, Experiment, Job, JobUpdated, LiveMessage } from "../types";
import { FINAL_STATUSES, JOB_STATUSES, UNFINISHED_EXPERIMENT } from "../types";

const ROWS_PER_PAGE = 100;

function compare(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === undefined || a === null) return 1;
  if (b === undefined || b === null) return -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

function mergeUpdate(job: Job, update: JobUpdated): Job {
  const merged: Job = {
    ...job,
    status: update.status,
    attempt: update.attempt,
    progress: update.progress,
    failure_reason: update.failure_reason ?? job.failure_reason,
    started_at: update.started_at,
    finished_at: update.finished_at,
  };
  if (update.metrics) merged.metrics = update.metrics;
  else if (!FINAL_STATUSES.has(update.status)) merged.metrics = {};
  return merged;
}

export function ExperimentPage({ id }: { id: number }) {
  const experiment = useRef<Experiment | null>(null);
  const jobs = useRef(new Map<number, Job>());
  const [dataset, setDataset] = useState<Dataset | null>(null);
  const [loadError, setLoadError] = useState<Error | null>(null);
  const [actionError, setActionError] = useState<string>("");
  const [sort, setSort] = useState<{ key: SortKey; desc: boolean }>({ key: "id", desc: false });
  const [filter, setFilter] = useState("");
  const [page, setPage] = useState(0);
  const [metricChoice, setMetricChoice] = useState<string | null>(null);
  const [maximizeChoice, setMaximizeChoice] = useState<boolean | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [sharing, setSharing] = useState(false);
  const user = useUser();
  const render = useFrameRender();

  const replay = useRef(new Replay<LiveMessage>());
  const refresh = useMemo(
    () =>
      throttle(async () => {
        try {
          await replay.current.read(
            () =>
              Promise.all([
                api<Experiment>(`/api/experiments/${id}/`),
                getAll<Job>(`/api/jobs/?experiment=${id}&page_size=1000`),
              ]),
            ([fresh, list]) => {
              if (experiment.current === null && fresh.dataset) {
                api<Dataset>(`/api/datasets/${fresh.dataset}/`).then(setDataset, () => null);
              }
              experiment.current = fresh;
              jobs.current = new Map(list.map((job) => [job.id, job]));
            },
            (message) => apply(message),
          );
          setLoadError(null);
        } catch (failure) {
          setLoadError(failure as Error);
        }
        render();
      }, 400),
    [id, render],
  );

  const refreshExperiment = useMemo(
    () =>
      throttle(async () => {
        try {
          experiment.current = await api<Experiment>(`/api/experiments/${id}/`);
          render();
        } catch {
          /* the next refresh tells */
        }
      }, 1000),
    [id, render],
  );

  /** One live message onto the page's state; false when the page must re-read everything. */
  const apply = (message: LiveMessage): boolean => {
    if (message.type === "job.updated" && message.data.experiment === id) {
      const known = jobs.current.get(message.data.id);
      if (!known) return false;
      jobs.current.set(known.id, mergeUpdate(known, message.data));
    } else if (message.type === "experiment.updated" && message.data.id === id && experiment.current) {
      const before = experiment.current.status;
      experiment.current = { ...experiment.current, ...message.data };
      if (before !== message.data.status || !experiment.current.started_at) refreshExperiment();
    }
    return true;
  };

  const onMessage = (message: LiveMessage) => {
    replay.current.note(message);
    if (!apply(message)) refresh();
    render();
  };

  const jobCount = experiment.current?.job_count ?? 0;
  const missing = loadError instanceof ApiError && loadError.status === 404 && !experiment.current;
  const connected = useLive({
    path: missing ? null : `/ws/experiments/${id}/`,
    onMessage,
    refresh,
    pollMs: jobCount > 2000 ? 15_000 : 3000,
  });

  const exp = experiment.current;
  // Shared with this user to read: no cancel, retry or share (the API would answer 403).
  const readOnly = !!exp && !user.is_staff && exp.owner !== user.username;
  const all = [...jobs.current.values()];
  const running = exp ? UNFINISHED_EXPERIMENT.has(exp.status) : false;
  const now = useNow(running);

  // Parameters that take more than one value are columns; the rest are listed once.
  const paramNames = [...new Set(all.flatMap((job) => Object.keys(job.parameters)))];
  const swept = paramNames.filter((name) => new Set(all.map((job) => JSON.stringify(job.parameters[name]))).size > 1);
  const fixed = paramNames.filter((name) => !swept.includes(name));
  const metricNames = [...new Set(all.flatMap((job) => Object.keys(job.metrics ?? {})))].sort();
  const metric = metricChoice && metricNames.includes(metricChoice) ? metricChoice : preferredMetric(metricNames);
  const maximize = maximizeChoice ?? (metric ? guessMaximize(metric) : true);
  const showRepeat = (exp?.repeats ?? 1) > 1;

  const sortValue = (job: Job, key: SortKey): unknown => {
    if (key.startsWith("param:")) return job.parameters[key.slice(6)];
    if (key.startsWith("metric:")) return job.metrics?.[key.slice(7)];
    if (key === "runtime") return elapsed(job.started_at, job.finished_at, now);
    if (key === "status") return JOB_STATUSES.indexOf(job.status);
    return (job as unknown as Record<string, unknown>)[key];
  };
  const visible = all.filter((job) => !filter || job.status === filter);
  visible.sort((a, b) => {
    const order = compare(sortValue(a, sort.key), sortValue(b, sort.key));
    return (sort.desc ? -order : order) || a.id - b.id;
  });
  const pages = Math.max(1, Math.ceil(visible.length / ROWS_PER_PAGE));
  const shown = visible.slice(Math.min(page, pages - 1) * ROWS_PER_PAGE, (Math.min(page, pages - 1) + 1) * ROWS_PER_PAGE);

  const scored = metric ? all.filter((job) => job.status === "succeeded" && typeof job.metrics?.[metric] === "number") : [];
  const best = scored.reduce<Job | null>((top, job) => {
    if (!top) return job;
    const better = maximize ? job.metrics[metric!] > top.metrics[metric!] : job.metrics[metric!] < top.metrics[metric!];
    return better ? job : top;
  }, null);

  const act = async (path: string) => {
    setActionError("");
    try {
      const answer = await api<Job | { cancelled: number }>(path, { method: "POST" });
      if (answer && "id" in answer) jobs.current.set(answer.id, answer);
      refresh();
      render();
    } catch (failure) {
      setActionError(failure instanceof ApiError ? failure.message : String(failure));
    }
  };

  const exportCsv = () => {
    const header = ["job", "index", "repeat", ...paramNames, "status", "attempt", "progress", "runtime_s", "failure_reason", ...metricNames];
    const rows = visible.map((job) => [
      job.id,
      job.index,
      job.repeat,
      ...paramNames.map((name) => job.parameters[name]),
      job.status,
      job.attempt,
      job.progress,
      elapsed(job.started_at, job.finished_at, now)?.toFixed(3),
      job.failure_reason,
      ...metricNames.map((name) => job.metrics?.[name]),
    ]);
    download(`experiment-${id}-jobs.csv`, toCsv(header, rows));
  };

  if (loadError && !exp) return <ErrorBox error={loadError} />;
  if (!exp) return <Loading />;


  const duration = elapsed(exp.started_at, FINAL_STATUSES.has(exp.status) ? exp.finished_at : null, now);
  return (
    <>
      <div class="page-head">
        <h1>{experimentTitle(exp)}</h1>
        <StatusBadge status={exp.status} />
        <LiveBadge connected={connected} />
        {readOnly && (
          <span class="read-only" id="shared-by">
            shared by <strong>{exp.owner ?? "someone"}</strong> (read-only)
          </span>
        )}
        <span class="spacer" />
        {!readOnly &&
          running &&
          exp.status !== "cancelling" &&
          (confirming ? (
            <span class="confirm">
              Cancel its unfinished jobs?
              <button
                class="danger"
                onClick={() => {
                  setConfirming(false);
                  void act(`/api/experiments/${id}/cancel/`);
                }}
              >
                Yes, cancel
              </button>
              <button onClick={() => setConfirming(false)}>Keep running</button>
            </span>
          ) : (
            <button class="danger" onClick={() => setConfirming(true)}>
              Cancel experiment
            </button>
          ))}
        {!readOnly && (
          <button class={sharing ? "active" : ""} onClick={() => setSharing(!sharing)} aria-expanded={sharing}>
            Share{exp.shared_with?.length ? ` (${exp.shared_with.length})` : ""}
          </button>
        )}
        {(!readOnly || !exp.dataset) && (
          <a class="button" href={`/experiments/new?from=${id}`}>
            Run again
          </a>
        )}
        <button onClick={exportCsv} disabled={all.length === 0}>
          Export CSV
        </button>
      </div>
      <ErrorBox error={actionError || loadError} />
      {sharing && !readOnly && (
        <SharePanel
          experiment={exp}
          onChange={(sharedWith) => {
            if (experiment.current) experiment.current = { ...experiment.current, shared_with: sharedWith };
            render();
          }}
          onClose={() => setSharing(false)}
        />
      )}

      <ExperimentSummary exp={exp} dataset={dataset} username={user.username} duration={duration} fixed={fixed} sample={all[0]} />

      <div class="split">
        <Card
          title="Parameters against a metric"
          actions={
            metricNames.length > 0 && (
              <>
                <select aria-label="metric" name="metric" value={metric ?? ""} onChange={(e) => setMetricChoice(e.currentTarget.value)}>
                  {metricNames.map((name) => (
                    <option value={name}>{name}</option>
                  ))}
                </select>
                <select aria-label="direction" name="direction" value={maximize ? "max" : "min"} onChange={(e) => setMaximizeChoice(e.currentTarget.value === "max")}>
                  <option value="max">higher is better</option>
                  <option value="min">lower is better</option>
                </select>
              </>
            )
          }
        >
          <ParallelCoordinates jobs={all} params={swept} metric={metric} maximize={maximize} bestId={best?.id ?? null} onPick={(job) => navigate(`/jobs/${job.id}`)} />
        </Card>
        <BestJob best={best} metric={metric} maximize={maximize} scored={scored.length} swept={swept} metricNames={metricNames} />
      </div>

      <JobTable
        exp={exp}
        visibleCount={visible.length}
        filter={filter}
        onFilter={(value) => {
          setFilter(value);
          setPage(0);
        }}
        shown={shown}
        swept={swept}
        showRepeat={showRepeat}
        metricNames={metricNames}
        bestId={best?.id ?? null}
        readOnly={readOnly}
        now={now}
        sort={sort}
        setSort={setSort}
        page={page}
        pages={pages}
        setPage={setPage}
        act={act}
      />
    </>
  );
}
