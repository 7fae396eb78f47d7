// One experiment: a page of its jobs as the server orders and filters them, updated live; the
// best jobs by its objective as a chart and a card; cancel, retry, share, compare and export.
// The page never reads every job: 100 rows, the counts, and the best few hundred for the chart.

import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, ApiError } from "../api";
import { BestJob } from "../components/BestJob";
import { ErrorBox, LiveBadge, Loading, StatusBadge } from "../components/bits";
import { ExperimentActions } from "../components/ExperimentActions";
import { ExperimentSummary } from "../components/ExperimentSummary";
import { JobTable } from "../components/JobTable";
import { ManagePanel } from "../components/ManagePanel";
import { MetricScatter } from "../components/MetricScatter";
import { RankingCard } from "../components/RankingCard";
import { SharePanel } from "../components/SharePanel";
import { finishedCount, StudyViews } from "../components/StudyViews";
import { elapsed, experimentTitle } from "../format";
import { throttle, useFrameRender, useNow } from "../hooks";
import type { JobView } from "../jobview";
import { applyToRows, bestTies, jobsPath, PAGE_SIZE, parseView, viewSearch } from "../jobview";
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
  // Hiding unscored jobs depends on the metric ranked by, so a new one is a new read.
  const viewKey = `${jobsPath(id, view)}|${view.scored ? view.rank : ""}`;

  const experiment = useRef<Experiment | null>(null);
  const rows = useRef<Job[]>([]);
  const total = useRef(0);
  const loading = useRef(true);
  const columns = useRef<ExperimentColumns | null>(null);
  const ranking = useRef<ExperimentRanking | null>(null);
  const [dataset, setDataset] = useState<Dataset | null>(null);
  const [loadError, setLoadError] = useState<Error | null>(null);
  const [actionError, setActionError] = useState<string>("");
  const [sharing, setSharing] = useState(false);
  const [managing, setManaging] = useState(false);
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
  // Bumped by the page's own changes (sharing): a read of the experiment that began before one
  // may answer after it, and would put back what the change replaced.
  const localChanges = useRef(0);

  /** The metric a job needs to be shown while unscored jobs are hidden (columns read first). */
  const scoredBy = async (): Promise<string | null> => {
    if (!viewRef.current.scored) return null;
    if (!columns.current) columns.current = await api<ExperimentColumns>(`/api/experiments/${id}/columns/`);
    return rankingOf(columns.current, viewRef.current).metric;
  };

  /** The experiment (counts, status) and the page of jobs the view shows. */
  const readPage = useMemo(
    () => async () => {
      loading.current = true;
      const changes = localChanges.current;
      try {
        const scored = await scoredBy();
        await replay.current.read(
          () =>
            Promise.all([
              api<Experiment>(`/api/experiments/${id}/`),
              api<Page<Job>>(jobsPath(id, viewRef.current, PAGE_SIZE, scored)),
            ]),
          ([fresh, page]) => {
            if (experiment.current === null && fresh.dataset) {
              api<Dataset>(`/api/datasets/${fresh.dataset}/`).then(setDataset, () => null);
            }
            if (localChanges.current === changes) experiment.current = fresh;
            else refreshExperiment();
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
        const changes = localChanges.current;
        try {
          const fresh = await api<Experiment>(`/api/experiments/${id}/`);
          if (localChanges.current !== changes) return refreshExperiment();
          experiment.current = fresh;
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

  if (loadError && !exp) return <ErrorBox error={loadError} />;
  if (!exp) return <Loading />;

  const duration = elapsed(exp.started_at, FINAL_STATUSES.has(exp.status) ? exp.finished_at : null, now);
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
        {exp.archived && <span class="badge archived">archived</span>}
        {(exp.tags ?? []).map((tag) => (
          <a class="tag" href={`/experiments?tag=${encodeURIComponent(tag)}`} data-tag={tag}>
            {tag}
          </a>
        ))}
        <span class="spacer" />
        <ExperimentActions
          exp={exp}
          readOnly={readOnly}
          running={running}
          sharing={sharing}
          managing={managing}
          onSharing={() => setSharing(!sharing)}
          onManaging={() => setManaging(!managing)}
          onDone={refresh}
          onError={setActionError}
        />
      </div>
      {exp.notes && <p class="experiment-notes">{exp.notes}</p>}
      <ErrorBox error={actionError || loadError} />
      {sharing && !readOnly && (
        <SharePanel
          experiment={exp}
          onChange={(sharedWith) => {
            localChanges.current += 1;
            if (experiment.current) experiment.current = { ...experiment.current, shared_with: sharedWith };
            render();
          }}
          onClose={() => setSharing(false)}
        />
      )}

      {managing && !readOnly && (
        <ManagePanel
          experiment={exp}
          running={running}
          parameters={[...swept, ...Object.keys(cols?.fixed ?? {})]}
          onExtended={refresh}
          onChange={(changed) => {
            if (experiment.current) experiment.current = { ...experiment.current, ...changed, counts: experiment.current.counts };
            render();
          }}
          onClose={() => setManaging(false)}
        />
      )}

      <ExperimentSummary exp={exp} dataset={dataset} username={user.username} duration={duration} fixed={cols?.fixed ?? {}} />

      <div class="split">
        <RankingCard
          metricNames={metricNames}
          metric={metric}
          order={order}
          onRank={(patch) => setView(patch, true)}
          jobs={scoredJobs as unknown as Job[]}
          swept={swept}
          bestId={best?.id ?? null}
          withMetric={ranked ? ranked.with_metric : null}
          onPick={openJob}
          onBrush={brush}
        />
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
        scoredBy={metric}
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
