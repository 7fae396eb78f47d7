// Live updates: a websocket per page that reconnects with backoff. On every (re)connect the page
// re-reads its data over REST so nothing sent while it was away is missed; while the socket is
// down the page polls REST instead, so it stays live even without a websocket server.

import { useEffect, useRef, useState } from "preact/hooks";
import type { LiveMessage } from "./types";

const MAX_BACKOFF_MS = 30_000;

export function socketUrl(path: string): string {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}${path}`;
}

/** Consecutive messages of one type with the same fields: one message per row. */
interface LiveTable {
  type: LiveMessage["type"];
  columns: string[];
  rows: unknown[][];
}

/** A frame is one message, or a `batch` of the messages of one flush, in order. */
type LiveFrame = LiveMessage | { type: "batch"; data: { messages: (LiveMessage | LiveTable)[] } };

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

export interface LiveOptions {
  /** Websocket path such as /ws/events/; null while the page does not know it yet. */
  path: string | null;
  onMessage: (message: LiveMessage) => void;
  /** Re-read everything over REST: at start, on every (re)connect, and while polling. */
  refresh: () => void;
  /** Poll interval while the socket is down. */
  pollMs?: number;
}

/** Subscribe to a websocket; returns whether it is connected right now. */
export function useLive({ path, onMessage, refresh, pollMs = 3000 }: LiveOptions): boolean {
  const [connected, setConnected] = useState(false);
  const handlers = useRef({ onMessage, refresh });
  handlers.current = { onMessage, refresh };
  const pollRef = useRef(pollMs);
  pollRef.current = pollMs;

  useEffect(() => {
    if (!path) return;
    let socket: WebSocket | null = null;
    let stopped = false;
    let failures = 0;
    let retry: number | undefined;
    let poll: number | undefined;

    const startPolling = () => {
      if (poll === undefined) {
        poll = window.setInterval(() => handlers.current.refresh(), pollRef.current);
      }
    };
    const stopPolling = () => {
      window.clearInterval(poll);
      poll = undefined;
    };
    const connect = () => {
      socket = new WebSocket(socketUrl(path));
      socket.onopen = () => {
        failures = 0;
        setConnected(true);
        stopPolling();
        handlers.current.refresh();
      };
      socket.onmessage = (event) => {
        let frame: LiveFrame;
        try {
          frame = JSON.parse(event.data as string) as LiveFrame;
        } catch {
          return;
        }
        for (const message of unwrap(frame)) handlers.current.onMessage(message);
      };
      socket.onclose = () => {
        socket = null;
        setConnected(false);
        if (stopped) return;
        startPolling();
        const backoff = Math.min(MAX_BACKOFF_MS, 500 * 2 ** failures);
        failures += 1;
        retry = window.setTimeout(connect, backoff * (0.75 + Math.random() * 0.5));
      };
    };

    handlers.current.refresh();
    connect();
    return () => {
      stopped = true;
      window.clearTimeout(retry);
      stopPolling();
      socket?.close();
    };
  }, [path]);

  return connected;
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
