import assert from "node:assert/strict";
import { test } from "node:test";
import { layout } from "../../src/dag";

test("each stage sits one column after its deepest upstream stage", () => {
  const { placed, columns, rows } = layout([
    { name: "generate", needs: [] },
    { name: "pc", needs: ["generate"] },
    { name: "ges", needs: ["generate"] },
    { name: "compare", needs: ["pc", "ges"] },
    { name: "late", needs: ["generate", "compare"] },
  ]);
  assert.deepEqual(
    placed.map((p) => [p.name, p.column, p.row]),
    [
      ["generate", 0, 0],
      ["pc", 1, 0],
      ["ges", 1, 1],
      ["compare", 2, 0],
      ["late", 3, 0],
    ],
  );
  assert.equal(columns, 4);
  assert.equal(rows, 2);
});

test("a cycle or an unknown upstream never loops", () => {
  const { placed } = layout([
    { name: "a", needs: ["b"] },
    { name: "b", needs: ["a", "nowhere"] },
  ]);
  assert.equal(placed.length, 2);
});
