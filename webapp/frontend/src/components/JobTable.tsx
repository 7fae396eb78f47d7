// The experiment page's job table: status filter, sortable columns, per-job cancel/retry, pages.

import { elapsed, formatDuration, formatNumber, formatPercent, formatValue } from "../format";
import type { Experiment, Job } from "../types";
import { FINAL_STATUSES, JOB_STATUSES } from "../types";
import { Card, ProgressBar, StatusBadge } from "./bits";

const RETRYABLE = new Set(["failed", "cancelled"]);

export type SortKey = string; // "id" | "status" | "attempt" | "progress" | "runtime" | "param:<name>" | "metric:<name>"

export function JobTable({
  exp,
  visibleCount,
  filter,
  onFilter,
  shown,
  swept,
  showRepeat,
  metricNames,
  bestId,
  readOnly,
  now,
  sort,
  setSort,
  page,
  pages,
  setPage,
  act,
}: {
  exp: Experiment;
  visibleCount: number;
  filter: string;
  onFilter: (filter: string) => void;
  shown: Job[];
  swept: string[];
  showRepeat: boolean;
  metricNames: string[];
  bestId: number | null;
  readOnly: boolean;
  now: number;
  sort: { key: SortKey; desc: boolean };
  setSort: (sort: { key: SortKey; desc: boolean }) => void;
  page: number;
  pages: number;
  setPage: (page: number) => void;
  act: (path: string) => void;
}) {
  const header = (key: SortKey, text: string, title?: string) => (
    <th
      class={`sortable ${sort.key === key ? (sort.desc ? "sorted desc" : "sorted asc") : ""}`}
      title={title ?? `sort by ${text}`}
      data-sort={key}
      onClick={() => setSort({ key, desc: sort.key === key ? !sort.desc : false })}
    >
      {text}
      <span class="arrow">{sort.key === key ? (sort.desc ? "▼" : "▲") : ""}</span>
    </th>
  );

  return (
    <Card
      title={`Jobs (${visibleCount}${filter ? ` ${filter}` : ""})`}
      actions={
        <select aria-label="status filter" name="status-filter" value={filter} onChange={(e) => onFilter(e.currentTarget.value)}>
          <option value="">all statuses</option>
          {JOB_STATUSES.filter((s) => exp.counts[s]).map((s) => (
            <option value={s}>
              {s} ({exp.counts[s]})
            </option>
          ))}
        </select>
      }
    >
      <div class="table-scroll">
        <table class="table jobs" id="jobs">
          <thead>
            <tr>
              {header("id", "Job")}
              {swept.map((name) => header(`param:${name}`, name))}
              {showRepeat && header("repeat", "repeat")}
              {header("status", "Status")}
              {header("attempt", "Attempt")}
              {header("progress", "Progress")}
              {header("runtime", "Runtime")}
              {metricNames.map((name) => header(`metric:${name}`, name, `metric ${name}`))}
              <th />
            </tr>
          </thead>
          <tbody>
            {shown.map((job) => (
              <tr data-job={job.id} data-status={job.status} class={bestId === job.id ? "best-row" : ""}>
                <td>
                  <a href={`/jobs/${job.id}`}>#{job.id}</a>
                </td>
                {swept.map((name) => (
                  <td class="num">{formatValue(job.parameters[name])}</td>
                ))}
                {showRepeat && <td class="num">{job.repeat}</td>}
                <td>
                  <StatusBadge status={job.status} />
                  {job.failure_reason && job.status !== "cancelled" && <span class="reason">{job.failure_reason}</span>}
                </td>
                <td class="num">
                  {job.attempt}/{job.max_attempts}
                </td>
                <td>
                  <span class="progress-cell">
                    <ProgressBar value={job.progress} />
                    <span class="muted small">{formatPercent(job.progress)}</span>
                  </span>
                </td>
                <td class="num">{formatDuration(elapsed(job.started_at, job.finished_at, now))}</td>
                {metricNames.map((name) => (
                  <td class="num" data-metric={name}>
                    {formatNumber(job.metrics?.[name])}
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
            ))}
          </tbody>
        </table>
      </div>
      {pages > 1 && (
        <div class="table-foot">
          <button disabled={page === 0} onClick={() => setPage(page - 1)}>
            ← Previous
          </button>
          <span class="muted">
            page {Math.min(page, pages - 1) + 1} of {pages}
          </span>
          <button disabled={page >= pages - 1} onClick={() => setPage(page + 1)}>
            Next →
          </button>
        </div>
      )}
    </Card>
  );
}
