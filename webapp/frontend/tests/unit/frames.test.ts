import assert from "node:assert/strict";
import { test } from "node:test";
import { Replay, unwrap } from "../../src/frames";

test("a batch frame's table unwraps into one message per row, in order", () => {
  const frame = {
    type: "batch",
    data: {
      messages: [
        { type: "experiment.updated", data: { id: 1 } },
        { type: "job.updated", columns: ["id", "status"], rows: [[5, "running"], [6, "succeeded"]] },
      ],
    },
  };
  const messages = unwrap(frame as never);
  assert.deepEqual(
    messages.map((m) => [m.type, (m.data as { id: number }).id]),
    [["experiment.updated", 1], ["job.updated", 5], ["job.updated", 6]],
  );
  assert.equal((messages[2].data as unknown as { status: string }).status, "succeeded");
});

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

test("messages that arrive during a read are replayed onto its result, once", async () => {
  const replay = new Replay<string>();
  replay.note("before"); // already in what the read returns
  const pending = deferred<string[]>();
  let state: string[] = [];
  const reading = replay.read(
    () => pending.promise,
    (value) => (state = [...value]),
    (message) => state.push(message),
  );
  replay.note("during-1");
  replay.note("during-2");
  pending.resolve(["snapshot"]);
  await reading;
  assert.deepEqual(state, ["snapshot", "during-1", "during-2"]);
  replay.note("after");
  assert.deepEqual(state, ["snapshot", "during-1", "during-2"], "nothing is held once no read is in flight");
});

test("an older read that lands after a newer one began is discarded", async () => {
  const replay = new Replay<string>();
  const older = deferred<string>();
  const newer = deferred<string>();
  const applied: string[] = [];
  const first = replay.read(() => older.promise, (v) => applied.push(v), () => undefined);
  const second = replay.read(() => newer.promise, (v) => applied.push(v), () => undefined);
  older.resolve("old");
  newer.resolve("new");
  await Promise.all([first, second]);
  assert.deepEqual(applied, ["new"]);
});
