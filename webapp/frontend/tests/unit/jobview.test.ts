import assert from "node:assert/strict";
import { test } from "node:test";
import { applyToRows, bestTies, DEFAULT_VIEW, jobsPath, mergeUpdate, parseView, viewSearch } from "../../src/jobview";
import type { Job, JobUpdated } from "../../src/types";

function job(id: number, patch: Partial<Job> = {}): Job {
  return {
    id,
    experiment: 7,
    index: id,
    repeat: 0,
    parameters: { alpha: 0.1 },
    status: "running",
    attempt: 1,
    max_attempts: 3,
    progress: 0.2,
    metrics: {},
    failure_reason: "",
    started_at: "2026-01-01T00:00:00Z",
    finished_at: null,
    ...patch,
  } as Job;
}

function update(id: number, patch: Partial<JobUpdated> = {}): JobUpdated {
  return {
    id,
    experiment: 7,
    status: "running",
    attempt: 1,
    progress: 0.5,
    failure_reason: "",
    started_at: "2026-01-01T00:00:00Z",
    finished_at: null,
    metrics: null,
    ...patch,
  };
}

test("an update for a row shown replaces that row only", () => {
  const rows = [job(1), job(2), job(3)];
  const next = applyToRows(rows, update(2, { progress: 0.9 }));
  assert.ok(next);
  assert.equal(next[1].progress, 0.9);
  assert.equal(next[0], rows[0]);
  assert.equal(next[2], rows[2]);
  assert.equal(rows[1].progress, 0.2, "the rows read are not mutated");
});

test("an update for a row not shown changes nothing in the table", () => {
  assert.equal(applyToRows([job(1), job(2)], update(99)), null);
});

test("a finished update brings its metrics; a new attempt clears the old ones", () => {
  const done = mergeUpdate(job(1), update(1, { status: "succeeded", finished_at: "2026-01-01T00:01:00Z", metrics: { f1: 0.8 } }));
  assert.deepEqual(done.metrics, { f1: 0.8 });
  const retried = mergeUpdate(done, update(1, { status: "waiting", attempt: 2, metrics: null }));
  assert.deepEqual(retried.metrics, {});
  assert.equal(retried.attempt, 2);
});

test("the view survives a round trip through the URL", () => {
  const view = {
    ...DEFAULT_VIEW,
    sort: "-metrics__shd",
    status: "succeeded",
    conditions: [
      { kind: "metric" as const, name: "shd", op: "lt" as const, value: "5" },
      { kind: "param" as const, name: "method", op: "eq" as const, value: "fisherz" },
    ],
    page: 2,
    rank: "f1",
    order: "max" as const,
    hidden: ["progress"],
    pinned: ["metric:shd"],
    scored: true,
  };
  assert.deepEqual(parseView(viewSearch(view)), view);
  assert.match(viewSearch(view), /unscored=hide/);
  assert.equal(viewSearch(DEFAULT_VIEW), "");
});

test("a malformed condition in the URL is dropped, not sent", () => {
  assert.deepEqual(parseView("?metric=shd&metric=f1__gt:0.5").conditions, [{ kind: "metric", name: "f1", op: "gt", value: "0.5" }]);
});

test("the API path asks the server for one page, ordered with id breaking ties", () => {
  const path = jobsPath(7, { ...DEFAULT_VIEW, sort: "-parameters__alpha", page: 1, conditions: [{ kind: "metric", name: "shd", op: "lt", value: "5" }] });
  const query = new URL(path, "http://x").searchParams;
  assert.equal(query.get("experiment"), "7");
  assert.equal(query.get("page"), "2");
  assert.equal(query.get("page_size"), "100");
  assert.equal(query.get("ordering"), "-parameters__alpha,id");
  assert.deepEqual(query.getAll("metric"), ["shd__lt:5"]);
});

test("hiding unscored jobs asks the server for jobs that reported the ranking metric", () => {
  const hiding = { ...DEFAULT_VIEW, scored: true };
  const query = (path: string) => new URL(path, "http://x").searchParams;
  assert.equal(query(jobsPath(7, hiding, 100, "shd")).get("has_metric"), "shd");
  assert.equal(query(jobsPath(7, DEFAULT_VIEW, 100, "shd")).get("has_metric"), null);
  assert.equal(parseView("?unscored=show").scored, false);
});

test("ties for the best value are counted from the ranking", () => {
  const ranked = [{ metrics: { f1: 0.9 } }, { metrics: { f1: 0.9 } }, { metrics: { f1: 0.7 } }];
  assert.equal(bestTies(ranked, "f1"), 2);
  assert.equal(bestTies([{ metrics: { f1: 0.9 } }, { metrics: { f1: 0.8 } }], "f1"), 1);
  assert.equal(bestTies([{ metrics: {} }], "f1"), 0);
});
