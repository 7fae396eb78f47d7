import assert from "node:assert/strict";
import { test } from "node:test";
import { emptyField, fieldFrom, fieldValue, gridSize } from "../../src/sweep";
import type { ParamSpec } from "../../src/types";

const alpha: ParamSpec = { name: "alpha", type: "float", minimum: 0, maximum: 1, default: 0.05 };
const depth: ParamSpec = { name: "depth", type: "int", minimum: 1, maximum: 10 };
const method: ParamSpec = { name: "method", type: "choice", values: ["a", "b", "c"], default: "a" };

const field = (spec: ParamSpec, patch: object) => ({ ...emptyField(spec), ...patch });

test("a list of numbers is sent as numbers and counts its values", () => {
  const value = fieldValue(alpha, field(alpha, { mode: "list", list: "0.01, 0.05,0.1" }));
  assert.deepEqual(value, { kind: "send", value: [0.01, 0.05, 0.1], count: 3 });
});

test("every bad value of a list is named, each with its reason", () => {
  const value = fieldValue(depth, field(depth, { mode: "list", list: "abc, 2, 1.5, 11, 0" }));
  assert.equal(value.kind, "invalid");
  const message = value.kind === "invalid" ? value.message : "";
  assert.match(message, /not a number: "abc"/);
  assert.match(message, /not a whole number: 1\.5/);
  assert.match(message, /outside 1 … 10: 11, 0/);
  assert.doesNotMatch(message, /\b2\b/);
});

test("a range with step 0 says so instead of counting forever", () => {
  const value = fieldValue(alpha, field(alpha, { mode: "range", start: "0", stop: "1", step: "0" }));
  assert.equal(value.kind, "invalid");
  assert.match(value.kind === "invalid" ? value.message : "", /step is 0/);
});

test("a range counts its values, stop included", () => {
  const value = fieldValue(alpha, field(alpha, { mode: "range", start: "0", stop: "1", step: "0.25" }));
  assert.deepEqual(value, { kind: "send", value: { start: 0, stop: 1, step: 0.25 }, count: 5 });
});

test("a range whose stop is below its start is refused", () => {
  const value = fieldValue(alpha, field(alpha, { mode: "range", start: "0.5", stop: "0.1", step: "0.1" }));
  assert.match(value.kind === "invalid" ? value.message : "", /stop 0\.1 is below start 0\.5/);
});

test("an empty single value leaves the schema default", () => {
  assert.deepEqual(fieldValue(alpha, emptyField(alpha)), { kind: "omit", count: 1 });
});

test("picked choices sweep, one pick is a fixed value, none is invalid", () => {
  assert.deepEqual(fieldValue(method, field(method, { picked: ["a", "c"] })), { kind: "send", value: ["a", "c"], count: 2 });
  assert.deepEqual(fieldValue(method, field(method, { picked: ["b"] })), { kind: "send", value: "b", count: 1 });
  assert.equal(fieldValue(method, field(method, { picked: [] })).kind, "invalid");
});

test("the grid size is the product of the counts times the repeats, unknown when one is", () => {
  const values = [
    { kind: "send", value: [1, 2, 3], count: 3 },
    { kind: "send", value: [1, 2], count: 2 },
  ] as const;
  assert.equal(gridSize([...values], 4), 24);
  assert.equal(gridSize([...values, { kind: "send", value: {}, count: null }], 1), null);
});

test("a submitted sweep fills the form again for a re-run", () => {
  assert.deepEqual(fieldValue(alpha, fieldFrom(alpha, [0.1, 0.2])), { kind: "send", value: [0.1, 0.2], count: 2 });
  const range = fieldFrom(alpha, { start: 0, stop: 0.5, step: 0.25 });
  assert.equal(range.mode, "range");
  assert.deepEqual(fieldValue(alpha, range), { kind: "send", value: { start: 0, stop: 0.5, step: 0.25 }, count: 3 });
});
