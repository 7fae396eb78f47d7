// Live frames unwrapped into messages, and the replay of messages held while a read is in
// flight. Pure: no DOM, so `node --test` runs it (tests/unit).

import type { LiveMessage } from "./types";

/** Consecutive messages of one type with the same fields: one message per row. */
interface LiveTable {
  type: LiveMessage["type"];
  columns: string[];
  rows: unknown[][];
}

/** A frame is one message, or a `batch` of the messages of one flush, in order. */
export type LiveFrame = LiveMessage | { type: "batch"; data: { messages: (LiveMessage | LiveTable)[] } };

export function unwrap(frame: LiveFrame): LiveMessage[] {
  if (frame.type !== "batch") return [frame];
  const messages: LiveMessage[] = [];
  for (const entry of frame.data.messages) {
    if (!("rows" in entry)) {
      messages.push(entry);
      continue;
    }
    for (const row of entry.rows) {
      const data = Object.fromEntries(entry.columns.map((column, i) => [column, row[i]]));
      messages.push({ type: entry.type, data } as unknown as LiveMessage);
    }
  }
  return messages;
}

/**
 * Messages that arrive while a REST read is under way are replayed over its result, so a
 * snapshot read before an update can never hide that update. Only the newest read applies.
 */
export class Replay<M> {
  private started = 0;
  private seen = 0;
  private reading = 0;
  private held: { n: number; message: M }[] = [];

  note(message: M): void {
    this.seen += 1;
    if (this.reading > 0) this.held.push({ n: this.seen, message });
  }

  async read<T>(load: () => Promise<T>, apply: (value: T) => void, replay: (message: M) => void): Promise<void> {
    const mine = ++this.started;
    const from = this.seen;
    this.reading += 1;
    try {
      const value = await load();
      if (mine !== this.started) return; // a newer read is on its way; it wins
      apply(value);
      for (const held of this.held) if (held.n > from) replay(held.message);
    } finally {
      this.reading -= 1;
      if (this.reading === 0) this.held = [];
    }
  }
}
