import assert from "node:assert/strict";
import { test } from "node:test";
import { aggregateRepeats, alignSeries, niceTicks } from "../../src/chartmath";

test("ticks are round numbers inside the range", () => {
  assert.deepEqual(niceTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(0.013, 0.987), [0.2, 0.4, 0.6, 0.8]);
  assert.deepEqual(niceTicks(3, 47), [10, 20, 30, 40]);
  assert.deepEqual(niceTicks(-0.3, 0.3, 3), [-0.2, 0, 0.2]);
  assert.deepEqual(niceTicks(5, 5), [5]);
});

test("repeats of one grid point fold into their mean and sample sd", () => {
  const jobs = [
    { parameters: { a: 1, b: "x" }, metrics: { f1: 0.5 } },
    { parameters: { b: "x", a: 1 }, metrics: { f1: 0.7 } },
    { parameters: { a: 2, b: "x" }, metrics: { f1: 0.9 } },
    { parameters: { a: 2, b: "x" }, metrics: {} },
  ];
  const found = aggregateRepeats(jobs, "f1");
  assert.equal(found.length, 2);
  const [first, second] = found;
  assert.equal(first.n, 2);
  assert.ok(Math.abs(first.mean - 0.6) < 1e-12);
  assert.ok(Math.abs(first.sd - Math.sqrt(0.02)) < 1e-12);
  assert.deepEqual([second.n, second.mean, second.sd], [1, 0.9, 0]);
});

test("series of different steps share one x axis with gaps as null", () => {
  const aligned = alignSeries([
    [{ step: 1, value: 10 }, { step: 3, value: 30 }],
    [{ step: 2, value: 20 }, { step: 3, value: 31 }],
  ]);
  assert.deepEqual(aligned, [[1, 2, 3], [10, null, 30], [null, 20, 31]]);
});
