// The experiment page's view of its jobs (sort, status, conditions, page, columns), kept in the
// URL, turned into the API's query, and the merge of live updates onto the rows shown.
// Pure: no DOM, so `node --test` runs it (tests/unit).

import type { Job, JobUpdated } from "./types";
import { FINAL_STATUSES } from "./types";

export const PAGE_SIZE = 100;
export const OPERATORS = ["lt", "lte", "gt", "gte", "eq"] as const;
export type Operator = (typeof OPERATORS)[number];

/** A filter the API applies: `?metric=shd__lt:5` or `?param=alpha__eq:0.05`. */
export interface Condition {
  kind: "metric" | "param";
  name: string;
  op: Operator;
  value: string;
}

export interface JobView {
  /** An API ordering term: id, status, runtime, parameters__<name>, metrics__<name>, '-' first for descending. */
  sort: string;
  status: string;
  conditions: Condition[];
  page: number;
  /** The metric the page ranks by (null: the experiment's objective). */
  rank: string | null;
  order: "min" | "max" | null;
  hidden: string[];
  pinned: string[];
  /** Hide jobs without a value of the ranking metric (the server's `?has_metric=`). */
  scored: boolean;
}

export const DEFAULT_VIEW: JobView = {
  sort: "id",
  status: "",
  conditions: [],
  page: 0,
  rank: null,
  order: null,
  hidden: [],
  pinned: [],
  scored: false,
};

/** 'shd__lt:5' -> a condition; null when it is not name__op:value. */
export function parseCondition(kind: Condition["kind"], raw: string): Condition | null {
  const colon = raw.lastIndexOf(":");
  if (colon < 0) return null;
  const left = raw.slice(0, colon);
  const sep = left.lastIndexOf("__");
  if (sep <= 0) return null;
  const op = left.slice(sep + 2) as Operator;
  if (!OPERATORS.includes(op)) return null;
  return { kind, name: left.slice(0, sep), op, value: raw.slice(colon + 1) };
}

export function conditionText(condition: Condition): string {
  return `${condition.name}__${condition.op}:${condition.value}`;
}

const list = (text: string | null): string[] => (text ? text.split(",").filter(Boolean) : []);

export function parseView(search: string): JobView {
  const query = new URLSearchParams(search);
  const conditions = [
    ...query.getAll("metric").map((raw) => parseCondition("metric", raw)),
    ...query.getAll("param").map((raw) => parseCondition("param", raw)),
  ].filter((c): c is Condition => c !== null);
  const page = Number.parseInt(query.get("page") ?? "1", 10);
  const order = query.get("order");
  return {
    sort: query.get("sort") || DEFAULT_VIEW.sort,
    status: query.get("status") ?? "",
    conditions,
    page: Number.isFinite(page) && page > 1 ? page - 1 : 0,
    rank: query.get("rank") || null,
    order: order === "min" || order === "max" ? order : null,
    hidden: list(query.get("hide")),
    pinned: list(query.get("pin")),
    scored: query.get("unscored") === "hide",
  };
}

/** The view as a query string ('' for the default view); pages count from 1 in the URL. */
export function viewSearch(view: JobView): string {
  const query = new URLSearchParams();
  if (view.sort !== DEFAULT_VIEW.sort) query.set("sort", view.sort);
  if (view.status) query.set("status", view.status);
  for (const condition of view.conditions) query.append(condition.kind, conditionText(condition));
  if (view.page > 0) query.set("page", String(view.page + 1));
  if (view.rank) query.set("rank", view.rank);
  if (view.order) query.set("order", view.order);
  if (view.hidden.length) query.set("hide", view.hidden.join(","));
  if (view.pinned.length) query.set("pin", view.pinned.join(","));
  if (view.scored) query.set("unscored", "hide");
  const text = query.toString();
  return text ? `?${text}` : "";
}

/**
 * The API path reading one page of the view's jobs, ordered and filtered by the server;
 * `scoredBy` is the metric a job must have reported when the view hides unscored jobs.
 */
export function jobsPath(experiment: number, view: JobView, pageSize = PAGE_SIZE, scoredBy: string | null = null): string {
  const query = new URLSearchParams({
    experiment: String(experiment),
    page: String(view.page + 1),
    page_size: String(pageSize),
  });
  // Ties (and every page boundary) are broken by id, so paging never repeats or skips a row.
  const sortKey = view.sort.replace(/^-/, "");
  query.set("ordering", sortKey === "id" ? view.sort : `${view.sort},id`);
  if (view.status) query.set("status", view.status);
  for (const condition of view.conditions) query.append(condition.kind, conditionText(condition));
  if (view.scored && scoredBy) query.set("has_metric", scoredBy);
  return `/api/jobs/?${query}`;
}

/** A job with a live update applied (metrics cleared while a new attempt runs). */
export function mergeUpdate(job: Job, update: JobUpdated): Job {
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

/**
 * The rows shown with an update applied, or null when the update is for a row not shown:
 * then only the counts change (they come with experiment.updated), never the table.
 */
export function applyToRows(rows: Job[], update: JobUpdated): Job[] | null {
  const at = rows.findIndex((job) => job.id === update.id);
  if (at < 0) return null;
  const next = rows.slice();
  next[at] = mergeUpdate(rows[at], update);
  return next;
}

/** Whether two or more of the ranked jobs share the best value of `metric`. */
export function bestTies(ranked: { metrics: Record<string, number> }[], metric: string): number {
  if (!ranked.length || typeof ranked[0].metrics[metric] !== "number") return 0;
  const best = ranked[0].metrics[metric];
  let tied = 0;
  for (const job of ranked) {
    if (job.metrics[metric] !== best) break;
    tied += 1;
  }
  return tied;
}
