// Live updates: a websocket per page that reconnects with backoff. On every (re)connect the page
// re-reads its data over REST so nothing sent while it was away is missed; while the socket is
// down the page polls REST instead, so it stays live even without a websocket server. The first
// read waits for the socket (briefly): a read begun before the subscription could miss what
// happened in between, and would have to be made twice.

import { useEffect, useRef, useState } from "preact/hooks";
import type { LiveMessage } from "./types";
import { type LiveFrame, unwrap } from "./frames";

export { Replay, unwrap } from "./frames";

const MAX_BACKOFF_MS = 30_000;
/** How long the first read waits for the socket to open. */
const FIRST_READ_WAIT_MS = 250;

export function socketUrl(path: string): string {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}${path}`;
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
    let firstRead: number | undefined;

    const read = () => {
      window.clearTimeout(firstRead);
      firstRead = undefined;
      handlers.current.refresh();
    };

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
        read();
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
        if (firstRead !== undefined) read();
        startPolling();
        const backoff = Math.min(MAX_BACKOFF_MS, 500 * 2 ** failures);
        failures += 1;
        retry = window.setTimeout(connect, backoff * (0.75 + Math.random() * 0.5));
      };
    };

    firstRead = window.setTimeout(read, FIRST_READ_WAIT_MS);
    connect();
    return () => {
      stopped = true;
      window.clearTimeout(firstRead);
      window.clearTimeout(retry);
      stopPolling();
      socket?.close();
    };
  }, [path]);

  return connected;
}
