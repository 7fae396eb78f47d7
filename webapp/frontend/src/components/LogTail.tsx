// The job page's live log tail: follows, pausable, downloadable.

import { useEffect, useRef, useState } from "preact/hooks";
import { download } from "../csv";
import { Card } from "./bits";

const MAX_SHOWN_LINES = 5000;

export function LogTail({ lines, total }: { lines: string[]; total: number }) {
  const [following, setFollowing] = useState(true);
  const [frozenAt, setFrozenAt] = useState<number | null>(null);
  const box = useRef<HTMLPreElement>(null);
  const paused = frozenAt !== null;
  const visibleCount = paused ? frozenAt : lines.length;
  const start = Math.max(0, visibleCount - MAX_SHOWN_LINES);
  const shown = lines.slice(start, visibleCount);

  useEffect(() => {
    if (following && !paused && box.current) box.current.scrollTop = box.current.scrollHeight;
  });

  return (
    <Card
      title="Log"
      actions={
        <>
          <span class="muted small" data-log-lines={total}>
            {total} line{total === 1 ? "" : "s"}
          </span>
          <label class="inline">
            <input type="checkbox" name="follow" checked={following} onChange={(e) => setFollowing(e.currentTarget.checked)} /> follow
          </label>
          {paused ? (
            <button class="small" onClick={() => setFrozenAt(null)}>
              Resume{lines.length > frozenAt ? ` (${lines.length - frozenAt} new)` : ""}
            </button>
          ) : (
            <button class="small" onClick={() => setFrozenAt(lines.length)}>
              Pause
            </button>
          )}
          <button class="small" onClick={() => download("log.txt", lines.join("\n") + "\n", "text/plain")} disabled={!lines.length}>
            Download
          </button>
        </>
      }
    >
      {start > 0 && <p class="muted small">Showing the last {MAX_SHOWN_LINES} lines.</p>}
      <pre class={`log ${paused ? "paused" : ""}`} ref={box} id="log" data-paused={paused ? "true" : "false"}>
        {shown.length ? shown.join("\n") : <span class="muted">No output yet.</span>}
      </pre>
    </Card>
  );
}
