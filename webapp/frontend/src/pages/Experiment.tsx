// One experiment: a page of its jobs as the server orders and filters them, updated live; the
// best jobs by its objective as a chart and a card; cancel, retry, share, compare and export.
// The page never reads every job: 100 rows, the counts, and the best few hundred for the chart.

import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, ApiError, getAll } from "../api";
import { BestJob } from "../components/BestJob";
import { Card, ErrorBox, LiveBadge, Loading, StatusBadge } from "../components/bits";
import { ExperimentSummary } from "../components/ExperimentSummary";
import { JobTable } from "../components/JobTable";
import { MetricScatter } from "../components/MetricScatter";
import { ParallelCoordinates } from "../components/ParallelCoordinates";
import { SharePanel } from "../components/SharePanel";
import { finishedCount, StudyViews } from "../components/StudyViews";
import { elapsed, experimentTitle } from "../format";
import { throttle, useFrameRender, useNow } from "../hooks";
import type { JobView } from "../jobview";
import { applyToRows, bestTies, jobsPath, parseView, viewSearch } from "../jobview";
import { Replay, useLive } from "../live";
import { guessMaximize, preferredMetric } from "../metrics";
import { navigate, useLocation } from "../router";
import { useUser } from "../session";
import type { Dataset, Experiment, ExperimentColumns, ExperimentRanking, Job, LiveMessage, Page } from "../types";
import { FINAL_STATUSES, UNFINISHED_EXPERIMENT } from "../types";

/** Jobs drawn in the chart: the best ones by the ranking metric. */
const CHART_JOBS = 300;
const LIVE_RENDER_MS = 200;

export function ExperimentPage({ id }: { id: number }) {
  const where = useLocation();
  const view = useMemo(() => parseView(location.search), [where]);
  const viewKey = jobsPath(id, view);

  const experiment = useRef<Experiment | null>(null);
  const rows = useRef<Job[]>([]);
  const total = useRef(0);
  const loading = useRef(true);
  const columns = useRef<ExperimentColumns | null>(null);
  const ranking = useRef<ExperimentRanking | null>(null);
  const [dataset, setDataset] = useState<Dataset | null>(null);
  const [loadError, setLoadError] = useState<Error | null>(null);
  const [actionError, setActionError] = useState<string>("");
  const [confirming, setConfirming] = useState(false);
  const [sharing, setSharing] = useState(false);
  const [picked, setPicked] = useState<Set<number>>(new Set());
  const user = useUser();
  const render = useFrameRender();
  // Live updates redraw at most five times a second: the rest of each second is the browser's.
  const renderLive = useFrameRender(LIVE_RENDER_MS);
  const viewRef = useRef(view);
  viewRef.current = view;

  const setView = (patch: Partial<JobView>, keepPage = false) => {
    const next = { ...viewRef.current, ...(keepPage ? {} : { page: 0 }), ...patch };
    navigate(`/experiments/${id}${viewSearch(next)}`, { replace: true, keepScroll: true });
  };

  const replay = useRef(new Replay<LiveMessage>());

  /** The experiment (counts, status) and the page of jobs the view shows. */
  const readPage = useMemo(
    () => async () => {
      loading.current = true;
      try {
        await replay.current.read(
          () =>
            Promise.all([
              api<Experiment>(`/api/experiments/${id}/`),
              api<Page<Job>>(jobsPath(id, viewRef.current)),
            ]),
          ([fresh, page]) => {
            if (experiment.current === null && fresh.dataset) {
              api<Dataset>(`/api/datasets/${fresh.dataset}/`).then(setDataset, () => null);
            }
            experiment.current = fresh;
            rows.current = page.results;
            total.current = page.count;
            loading.current = false;
          },
          (message) => apply(message),
        );
        setLoadError(null);
      } catch (failure) {
        loading.current = false;
        // A page past the end after a filter shrank the list: go to the first.
        if (failure instanceof ApiError && failure.status === 404 && viewRef.current.page > 0 && experiment.current) {
          setView({ page: 0 });
        } else {
          setLoadError(failure as Error);
        }
      }
      render();
    },
    [id, render],
  );

  /** Columns and the ranking: what the chart and the best-job card show. Cheap but not free. */
  const readRanking = useMemo(
    () =>
      throttle(async () => {
        try {
          const found = await api<ExperimentColumns>(`/api/experiments/${id}/columns/`);
          columns.current = found;
          const { metric, order } = rankingOf(found, viewRef.current);
          if (metric) {
            const query = new URLSearchParams({ metric, order, limit: String(CHART_JOBS) });
            ranking.current = await api<ExperimentRanking>(`/api/experiments/${id}/summary/?${query}`);
          }
        } catch {
          /* the chart keeps its last data; the page's own read reports errors */
        }
        render();
      }, 5000),
    [id, render],
  );

  // The ranking is read after the rows: on a busy server they would otherwise share its time.
  const refresh = useMemo(
    () => () => {
      void readPage().then(readRanking);
    },
    [readPage, readRanking],
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

  /** One live message onto the page's state. Never a read of the table: a job not shown
   * only changes the counts, which come with experiment.updated. */
  const apply = (message: LiveMessage) => {
    if (message.type === "job.updated" && message.data.experiment === id) {
      const next = applyToRows(rows.current, message.data);
      if (next) rows.current = next;
      const metrics = message.data.metrics;
      if (metrics && columns.current) {
        const known = columns.current.metrics;
        const fresh = Object.keys(metrics).filter((name) => !known.includes(name));
        if (fresh.length) columns.current = { ...columns.current, metrics: [...known, ...fresh].sort() };
        readRanking();
      }
    } else if (message.type === "experiment.updated" && message.data.id === id && experiment.current) {
      const before = experiment.current.status;
      experiment.current = { ...experiment.current, ...message.data };
      if (before !== message.data.status || !experiment.current.started_at) refreshExperiment();
    }
  };

  const onMessage = (message: LiveMessage) => {
    replay.current.note(message);
    apply(message);
    renderLive();
  };

  // A new view (sort, filter, page) is a new read of one page.
  const firstView = useRef(true);
  useEffect(() => {
    if (firstView.current) {
      firstView.current = false;
      return;
    }
    void readPage();
  }, [viewKey]);
  const rankKey = `${view.rank}:${view.order}`;
  useEffect(() => {
    if (columns.current) readRanking();
  }, [rankKey]);

  const missing = loadError instanceof ApiError && loadError.status === 404 && !experiment.current;
  const connected = useLive({ path: missing ? null : `/ws/experiments/${id}/`, onMessage, refresh, pollMs: 5000 });

  const exp = experiment.current;
  // Shared with this user to read: no cancel, retry or share (the API would answer 403).
  const readOnly = !!exp && !user.is_staff && exp.owner !== user.username;
  const running = exp ? UNFINISHED_EXPERIMENT.has(exp.status) : false;
  const now = useNow(running);

  const cols = columns.current;
  const swept = cols?.parameters ?? [];
  const metricNames = cols?.metrics ?? [];
  const { metric, order } = cols ? rankingOf(cols, view) : { metric: null, order: "max" as const };
  const maximize = order === "max";
  const ranked = ranking.current && ranking.current.metric === metric ? ranking.current : null;
  // Kept the same between reads of the ranking, so the chart is not re-drawn on every update.
  const scoredJobs = useMemo(
    () => (ranked && metric ? ranked.jobs.filter((job) => typeof job.metrics[metric] === "number") : []),
    [ranked, metric],
  );
  const openJob = useCallback((job: Job) => navigate(`/jobs/${job.id}`), []);
  // A range dragged on an axis replaces that axis's bounds among the table's conditions.
  const brush = useCallback((axis: { name: string; metric: boolean }, low: number, high: number) => {
    const kind = axis.metric ? "metric" : "param";
    const kept = viewRef.current.conditions.filter((c) => !(c.kind === kind && c.name === axis.name && (c.op === "gte" || c.op === "lte")));
    const round = (value: number) => String(Number(value.toPrecision(6)));
    setView({
      conditions: [
        ...kept,
        { kind, name: axis.name, op: "gte", value: round(low) },
        { kind, name: axis.name, op: "lte", value: round(high) },
      ],
    });
  }, []);
  const best = ranked?.best ?? null;

  const act = useCallback(async (path: string) => {
    setActionError("");
    try {
      await api<unknown>(path, { method: "POST" });
      refresh();
    } catch (failure) {
      setActionError(failure instanceof ApiError ? failure.message : String(failure));
    }
  }, [refresh]);
  const pick = useCallback((jobId: number) => {
    setPicked((before) => {
      const next = new Set(before);
      if (next.has(jobId)) next.delete(jobId);
      else next.add(jobId);
      return next;
    });
  }, []);

  const retryFailed = async () => {
    setActionError("");
    try {
      await api<unknown>(`/api/experiments/${id}/retry/`, { method: "POST" });
    } catch (failure) {
      if (!(failure instanceof ApiError) || (failure.status !== 404 && failure.status !== 405)) {
        setActionError(failure instanceof ApiError ? failure.message : String(failure));
        return;
      }
      // A server without the experiment-level retry: each failed job's own retry.
      try {
        const failed = await getAll<Job>(`/api/jobs/?experiment=${id}&status=failed&page_size=1000`);
        for (const job of failed) await api<unknown>(`/api/jobs/${job.id}/retry/`, { method: "POST" });
      } catch (inner) {
        setActionError(inner instanceof ApiError ? inner.message : String(inner));
      }
    }
    refresh();
  };

  if (loadError && !exp) return <ErrorBox error={loadError} />;
  if (!exp) return <Loading />;

  const duration = elapsed(exp.started_at, FINAL_STATUSES.has(exp.status) ? exp.finished_at : null, now);
  const failedCount = exp.counts.failed ?? 0;
  const pickedIds = [...picked];
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
        {!readOnly && failedCount > 0 && (
          <button onClick={() => void retryFailed()} data-action="retry-failed">
            Retry failed ({failedCount})
          </button>
        )}
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
        <a class="button" href={`/api/experiments/${id}/export.csv`} download>
          Export CSV
        </a>
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

      <ExperimentSummary exp={exp} dataset={dataset} username={user.username} duration={duration} fixed={cols?.fixed ?? {}} />

      <div class="split">
        <Card
          title="Parameters against a metric"
          actions={
            metricNames.length > 0 && (
              <>
                <select aria-label="metric" name="metric" value={metric ?? ""} onChange={(e) => setView({ rank: e.currentTarget.value }, true)}>
                  {metricNames.map((name) => (
                    <option value={name}>{name}</option>
                  ))}
                </select>
                <select
                  aria-label="direction"
                  name="direction"
                  value={order}
                  onChange={(e) => setView({ order: e.currentTarget.value as "min" | "max" }, true)}
                >
                  <option value="max">higher is better</option>
                  <option value="min">lower is better</option>
                </select>
              </>
            )
          }
        >
          <div class="chart-scroll" tabIndex={0} role="region" aria-label="parallel coordinates chart">
            <ParallelCoordinates
              jobs={scoredJobs as unknown as Job[]}
              params={swept}
              metric={metric}
              maximize={maximize}
              bestId={best?.id ?? null}
              onPick={openJob}
              onBrush={brush}
            />
          </div>
          {ranked && ranked.with_metric > scoredJobs.length && (
            <p class="small">
              The best {scoredJobs.length} of {ranked.with_metric} jobs with {metric}.
            </p>
          )}
        </Card>
        <BestJob
          best={best as unknown as Job | null}
          metric={metric}
          maximize={maximize}
          scored={ranked?.with_metric ?? 0}
          tied={ranked && metric ? bestTies(ranked.jobs, metric) : 0}
          swept={swept}
          metricNames={metricNames}
        />
      </div>

      <MetricScatter experiment={id} params={swept} metric={metric} />
      {exp.strategy && exp.strategy !== "grid" && <StudyViews experiment={id} version={finishedCount(exp.counts)} />}

      {pickedIds.length > 0 && (
        <div class="compare-bar" role="region" aria-label="jobs picked to compare">
          {pickedIds.length} picked
          <a class="button" aria-disabled={pickedIds.length < 2} href={pickedIds.length >= 2 ? `/compare?jobs=${pickedIds.join(",")}` : undefined}>
            Compare
          </a>
          <button onClick={() => setPicked(new Set())}>Clear</button>
        </div>
      )}

      <JobTable
        exp={exp}
        rows={rows.current}
        total={total.current}
        loading={loading.current}
        swept={swept}
        metricNames={metricNames}
        bestId={best?.id ?? null}
        readOnly={readOnly}
        now={now}
        view={view}
        setView={setView}
        picked={picked}
        onPick={pick}
        act={act}
      />
    </>
  );
}

/** The metric the page ranks by: the view's choice, else the objective chosen at submit. */
function rankingOf(columns: ExperimentColumns, view: JobView): { metric: string | null; order: "min" | "max" } {
  const metric =
    (view.rank && columns.metrics.includes(view.rank) ? view.rank : null) ??
    columns.objective ??
    preferredMetric(columns.metrics);
  const fallback = metric === columns.objective && columns.objective_order ? columns.objective_order : null;
  const order = view.order ?? fallback ?? (metric && !guessMaximize(metric) ? "min" : "max");
  return { metric, order };
}
