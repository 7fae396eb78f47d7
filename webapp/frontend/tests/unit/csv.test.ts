import assert from "node:assert/strict";
import { test } from "node:test";
import { toCsv } from "../../src/csv";

test("cells with commas, quotes or newlines are quoted, quotes doubled", () => {
  const text = toCsv(["a", "b"], [["x,y", 'say "hi"'], ["line\nbreak", 3]]);
  assert.equal(text, 'a,b\r\n"x,y","say ""hi"""\r\n"line\nbreak",3\r\n');
});

test("missing values are empty cells and objects are JSON", () => {
  assert.equal(toCsv(["a", "b", "c"], [[null, undefined, { k: [1] }]]), 'a,b,c\r\n,,"{""k"":[1]}"\r\n');
});
