// The experiment page's job table: one page of jobs as the server ordered and filtered them,
// sortable headers, chosen and pinned columns, per-job cancel/retry and pick-to-compare.

import { memo } from "preact/compat";
import { useMemo } from "preact/hooks";
import { elapsed, formatDuration, formatNumber, formatPercent, formatValue } from "../format";
import type { JobView } from "../jobview";
import type { Experiment, Job } from "../types";
import { FINAL_STATUSES, JOB_STATUSES } from "../types";
import { Card, ProgressBar, StatusBadge } from "./bits";
import { FilterBar } from "./FilterBar";

const RETRYABLE = new Set(["failed", "cancelled"]);

interface Column {
  key: string;
  label: string;
  /** The API ordering term, or null when the server cannot sort by it. */
  sort: string | null;
  numeric: boolean;
  cell: (job: Job, now: number) => preact.ComponentChildren;
}

export function JobTable({
  exp,
  rows,
  total,
  loading,
  swept,
  metricNames,
  bestId,
  readOnly,
  now,
  view,
  setView,
  picked,
  onPick,
  act,
  scoredBy,
}: {
  exp: Experiment;
  rows: Job[];
  total: number;
  loading: boolean;
  swept: string[];
  metricNames: string[];
  bestId: number | null;
  readOnly: boolean;
  now: number;
  view: JobView;
  setView: (patch: Partial<JobView>, keepPage?: boolean) => void;
  picked: Set<number>;
  onPick: (id: number) => void;
  act: (path: string) => void;
  /** The metric a job needs to count as scored (the one the page ranks by). */
  scoredBy: string | null;
}) {
  const repeated = (exp.repeats ?? 1) > 1;
  const columns = useMemo<Column[]>(() => [
    ...swept.map((name) => ({
      key: `param:${name}`,
      label: name,
      sort: `parameters__${name}`,
      numeric: true,
      cell: (job: Job) => formatValue(job.parameters[name]),
    })),
    ...(repeated
      ? [{ key: "repeat", label: "repeat", sort: null, numeric: true, cell: (job: Job) => job.repeat }]
      : []),
    {
      key: "status",
      label: "Status",
      sort: "status",
      numeric: false,
      cell: (job) => (
        <>
          <StatusBadge status={job.status} />
          {job.failure_reason && job.status !== "cancelled" && job.status !== "pruned" && <span class="reason">{job.failure_reason}</span>}
        </>
      ),
    },
    { key: "attempt", label: "Attempt", sort: null, numeric: true, cell: (job) => `${job.attempt}/${job.max_attempts}` },
    {
      key: "progress",
      label: "Progress",
      sort: null,
      numeric: false,
      cell: (job) => (
        <span class="progress-cell">
          <ProgressBar value={job.progress} />
          <span class="small">{formatPercent(job.progress)}</span>
        </span>
      ),
    },
    {
      key: "runtime",
      label: "Runtime",
      sort: "runtime",
      numeric: true,
      cell: (job, now) => formatDuration(elapsed(job.started_at, job.finished_at, now)),
    },
    ...metricNames.map((name) => ({
      key: `metric:${name}`,
      label: name,
      sort: `metrics__${name}`,
      numeric: true,
      cell: (job: Job) => formatNumber(job.metrics?.[name]),
    })),
  ], [swept, metricNames, repeated]);
  const pinKey = view.pinned.join(",");
  const hideKey = view.hidden.join(",");
  const { shown, pinned } = useMemo(() => {
    const pinned = view.pinned.map((key) => columns.find((c) => c.key === key)).filter((c): c is Column => !!c);
    const rest = columns.filter((c) => !view.pinned.includes(c.key) && !view.hidden.includes(c.key));
    return { shown: [...pinned, ...rest], pinned };
  }, [columns, pinKey, hideKey]);
  const pages = Math.max(1, Math.ceil(total / 100));
  const page = Math.min(view.page, pages - 1);

  const sortKey = view.sort.replace(/^-/, "");
  const descending = view.sort.startsWith("-");
  const header = (column: Column, index: number) => {
    const isPinned = index < pinned.length;
    const style = isPinned ? { left: `calc(5.5rem + ${index} * 8rem)` } : undefined;
    const className = `${column.numeric ? "num" : ""} ${isPinned ? "pinned" : ""}`;
    if (!column.sort) {
      return (
        <th scope="col" class={className} style={style}>
          {column.label}
        </th>
      );
    }
    const active = sortKey === column.sort;
    const next = active && !descending ? `-${column.sort}` : column.sort;
    return (
      <th
        scope="col"
        class={className}
        style={style}
        aria-sort={active ? (descending ? "descending" : "ascending") : "none"}
        data-sort={column.sort}
      >
        <button type="button" class="sort" onClick={() => setView({ sort: next })}>
          {column.label}
          <span class="arrow" aria-hidden="true">
            {active ? (descending ? "▼" : "▲") : ""}
          </span>
        </button>
      </th>
    );
  };

  const toggle = (list: string[], key: string) => (list.includes(key) ? list.filter((k) => k !== key) : [...list, key]);
  const idSort = sortKey === "id";

  return (
    <Card
      title={`Jobs (${total}${view.status ? ` ${view.status}` : ""}${view.conditions.length ? ", filtered" : ""}${view.scored ? ", scored" : ""})`}
      actions={
        <>
          <label class="toggle" title={scoredBy ? `only jobs that reported ${scoredBy}` : "no job has reported a metric yet"}>
            <input type="checkbox" name="hide-unscored" checked={view.scored} onChange={() => setView({ scored: !view.scored })} />
            Hide unscored jobs
          </label>
          <select
            aria-label="status filter"
            name="status-filter"
            value={view.status}
            onChange={(e) => setView({ status: e.currentTarget.value })}
          >
            <option value="">all statuses</option>
            {JOB_STATUSES.filter((s) => exp.counts[s] || s === view.status).map((s) => (
              <option value={s}>
                {s} ({exp.counts[s] ?? 0})
              </option>
            ))}
          </select>
          <details class="columns-menu">
            <summary>Columns</summary>
            <fieldset>
              <legend>Show and pin columns</legend>
              {columns.map((column) => (
                <div class="column-choice">
                  <label>
                    <input
                      type="checkbox"
                      name={`show:${column.key}`}
                      checked={!view.hidden.includes(column.key)}
                      onChange={() => setView({ hidden: toggle(view.hidden, column.key) }, true)}
                    />
                    {column.label}
                  </label>
                  <label class="small">
                    <input
                      type="checkbox"
                      name={`pin:${column.key}`}
                      checked={view.pinned.includes(column.key)}
                      onChange={() => setView({ pinned: toggle(view.pinned, column.key) }, true)}
                    />
                    pin
                  </label>
                </div>
              ))}
            </fieldset>
          </details>
        </>
      }
    >
      <FilterBar
        conditions={view.conditions}
        parameters={swept}
        metrics={metricNames}
        onChange={(conditions) => setView({ conditions })}
      />
      <div class="table-scroll" aria-busy={loading}>
        <table class="table jobs" id="jobs">
          <thead>
            <tr>
              <th scope="col" class="pinned first" aria-sort={idSort ? (descending ? "descending" : "ascending") : "none"} data-sort="id">
                <button type="button" class="sort" onClick={() => setView({ sort: idSort && !descending ? "-id" : "id" })}>
                  Job
                  <span class="arrow" aria-hidden="true">
                    {idSort ? (descending ? "▼" : "▲") : ""}
                  </span>
                </button>
              </th>
              {shown.map(header)}
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((job) => (
              <JobRow
                job={job}
                columns={shown}
                pinnedCount={pinned.length}
                best={bestId === job.id}
                picked={picked.has(job.id)}
                readOnly={readOnly}
                now={job.finished_at ? 0 : now}
                onPick={onPick}
                act={act}
              />
            ))}
          </tbody>
        </table>
        {rows.length === 0 && !loading && <p class="muted">No job matches this view.</p>}
      </div>
      {pages > 1 && (
        <nav class="table-foot" aria-label="pages of jobs">
          <button disabled={page === 0} onClick={() => setView({ page: page - 1 }, true)}>
            ← Previous
          </button>
          <span>
            page {page + 1} of {pages}
          </span>
          <button disabled={page >= pages - 1} onClick={() => setView({ page: page + 1 }, true)}>
            Next →
          </button>
        </nav>
      )}
    </Card>
  );
}

interface RowProps {
  job: Job;
  columns: Column[];
  pinnedCount: number;
  best: boolean;
  picked: boolean;
  readOnly: boolean;
  /** 0 for a finished job: its row need not redraw as time passes. */
  now: number;
  onPick: (id: number) => void;
  act: (path: string) => void;
}

/** One row, redrawn only when its job (or the clock, while it runs) changed. */
const JobRow = memo(function JobRow({ job, columns, pinnedCount, best, picked, readOnly, now, onPick, act }: RowProps) {
  return (
    <tr data-job={job.id} data-status={job.status} class={best ? "best-row" : ""}>
      <th scope="row" class="pinned first">
        <input type="checkbox" name={`pick:${job.id}`} aria-label={`pick job ${job.id} to compare`} checked={picked} onChange={() => onPick(job.id)} />{" "}
        <a href={`/jobs/${job.id}`}>#{job.id}</a>
      </th>
      {columns.map((column, index) => (
        <td
          class={`${column.numeric ? "num" : ""} ${index < pinnedCount ? "pinned" : ""}`}
          style={index < pinnedCount ? { left: `calc(5.5rem + ${index} * 8rem)` } : undefined}
          data-metric={column.key.startsWith("metric:") ? column.key.slice(7) : undefined}
        >
          {column.cell(job, now)}
        </td>
      ))}
      <td class="row-actions">
        {!readOnly && !FINAL_STATUSES.has(job.status) && job.status !== "cancelling" && (
          <button class="small" onClick={() => act(`/api/jobs/${job.id}/cancel/`)}>
            Cancel
          </button>
        )}
        {!readOnly && RETRYABLE.has(job.status) && (
          <button class="small" onClick={() => act(`/api/jobs/${job.id}/retry/`)}>
            Retry
          </button>
        )}
      </td>
    </tr>
  );
});
