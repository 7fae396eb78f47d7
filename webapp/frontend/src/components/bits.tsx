// Small shared pieces: status badges, progress bars, error text, the live indicator.

import type { ComponentChildren } from "preact";
import { useRef, useState } from "preact/hooks";
import { flattenErrors } from "../api";
import { formatPercent } from "../format";
import { JOB_STATUSES } from "../types";

export function StatusBadge({ status }: { status: string }) {
  return <span class={`status status-${status}`} data-status={status}>{status}</span>;
}

/** A bar split by job status, e.g. 2 succeeded, 1 running, 1 waiting. */
export function CountsBar({ counts, total }: { counts: Record<string, number>; total: number }) {
  const sum = total || Object.values(counts).reduce((a, b) => a + b, 0);
  const done = (counts.succeeded ?? 0) + (counts.failed ?? 0) + (counts.cancelled ?? 0) + (counts.pruned ?? 0);
  return (
    <div class="countsbar" title={`${done} of ${sum} finished`}>
      <div class="countsbar-track">
        {sum > 0 &&
          JOB_STATUSES.filter((s) => counts[s]).map((s) => (
            <span class={`seg seg-${s}`} style={{ width: `${(100 * counts[s]) / sum}%` }} />
          ))}
      </div>
      <span class="countsbar-label">
        {done}/{sum}
      </span>
    </div>
  );
}

export function ProgressBar({ value }: { value: number | null }) {
  return (
    <div class="progress" title={formatPercent(value)}>
      <span style={{ transform: `scaleX(${Math.min(1, Math.max(0, value ?? 0)).toFixed(3)})` }} />
    </div>
  );
}

export function CountChips({ counts }: { counts: Record<string, number> }) {
  return (
    <span class="chips">
      {JOB_STATUSES.filter((s) => counts[s]).map((s) => (
        <span class={`chip chip-${s}`} data-count={s}>
          {counts[s]} {s}
        </span>
      ))}
    </span>
  );
}

export function LiveBadge({ connected }: { connected: boolean }) {
  return connected ? (
    <span class="live on" title="updates arrive over a websocket">● live</span>
  ) : (
    <span class="live off" title="the websocket is down: reconnecting, and polling meanwhile">
      ○ reconnecting
    </span>
  );
}

export function FieldErrors({ errors, id }: { errors: unknown; id?: string }) {
  const messages = flattenErrors(errors);
  if (!messages.length) return null;
  return (
    <ul class="field-errors" role="alert" id={id}>
      {messages.map((message) => (
        <li>{message}</li>
      ))}
    </ul>
  );
}

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  const message = error instanceof Error ? error.message : flattenErrors(error).join("; ");
  return (
    <div class="error-box" role="alert">
      {message}
    </div>
  );
}

export function Loading({ children }: { children?: ComponentChildren }) {
  return <p class="muted">{children ?? "Loading…"}</p>;
}

export function Card({ title, actions, children }: { title?: ComponentChildren; actions?: ComponentChildren; children: ComponentChildren }) {
  return (
    <section class="card">
      {(title || actions) && (
        <header class="card-head">
          {title && <h2>{title}</h2>}
          {actions && <div class="card-actions">{actions}</div>}
        </header>
      )}
      {children}
    </section>
  );
}

/** A read-only text with a Copy button (a token key, a link). */
export function CopyBox({ value, label }: { value: string; label: string }) {
  const [copied, setCopied] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const copy = async () => {
    input.current?.select();
    try {
      await navigator.clipboard.writeText(value);
    } catch {
      // Not a secure context (plain http on another host): copy the selection instead.
      document.execCommand("copy");
    }
    setCopied(true);
    window.setTimeout(() => setCopied(false), 2000);
  };
  return (
    <span class="copy-box">
      <input ref={input} aria-label={label} value={value} readOnly onFocus={(e) => e.currentTarget.select()} />
      <button type="button" class="small" onClick={copy}>
        {copied ? "Copied ✓" : "Copy"}
      </button>
    </span>
  );
}
