// The experiment page's actions: cancel (after confirming), retry failed jobs, share, manage,
// run again and export.

import { useState } from "preact/hooks";
import { api, ApiError, getAll } from "../api";
import type { Experiment, Job } from "../types";

export function ExperimentActions({
  exp,
  readOnly,
  running,
  sharing,
  managing,
  onSharing,
  onManaging,
  onDone,
  onError,
}: {
  exp: Experiment;
  readOnly: boolean;
  running: boolean;
  sharing: boolean;
  managing: boolean;
  onSharing: () => void;
  onManaging: () => void;
  /** After an action changed the experiment: read it again. */
  onDone: () => void;
  onError: (message: string) => void;
}) {
  const [confirming, setConfirming] = useState(false);
  const id = exp.id;
  const failedCount = exp.counts.failed ?? 0;
  const message = (failure: unknown) => (failure instanceof ApiError ? failure.message : String(failure));

  const cancel = async () => {
    setConfirming(false);
    onError("");
    try {
      await api<unknown>(`/api/experiments/${id}/cancel/`, { method: "POST" });
    } catch (failure) {
      onError(message(failure));
    }
    onDone();
  };

  const retryFailed = async () => {
    onError("");
    try {
      await api<unknown>(`/api/experiments/${id}/retry/`, { method: "POST" });
    } catch (failure) {
      if (!(failure instanceof ApiError) || (failure.status !== 404 && failure.status !== 405)) {
        onError(message(failure));
        return;
      }
      // A server without the experiment-level retry: each failed job's own retry.
      try {
        const failed = await getAll<Job>(`/api/jobs/?experiment=${id}&status=failed&page_size=1000`);
        for (const job of failed) await api<unknown>(`/api/jobs/${job.id}/retry/`, { method: "POST" });
      } catch (inner) {
        onError(message(inner));
      }
    }
    onDone();
  };

  return (
    <>
      {!readOnly &&
        running &&
        exp.status !== "cancelling" &&
        (confirming ? (
          <span class="confirm">
            Cancel its unfinished jobs?
            <button class="danger" onClick={() => void cancel()}>
              Yes, cancel
            </button>
            <button onClick={() => setConfirming(false)}>Keep running</button>
          </span>
        ) : (
          <button class="danger" onClick={() => setConfirming(true)}>
            Cancel experiment
          </button>
        ))}
      {!readOnly && failedCount > 0 && (
        <button onClick={() => void retryFailed()} data-action="retry-failed">
          Retry failed ({failedCount})
        </button>
      )}
      {!readOnly && (
        <button class={sharing ? "active" : ""} onClick={onSharing} aria-expanded={sharing}>
          Share{exp.shared_with?.length ? ` (${exp.shared_with.length})` : ""}
        </button>
      )}
      {!readOnly && (
        <button class={managing ? "active" : ""} onClick={onManaging} aria-expanded={managing} data-action="manage">
          Manage
        </button>
      )}
      {(!readOnly || !exp.dataset) && (
        <a class="button" href={`/experiments/new?from=${id}`}>
          Run again
        </a>
      )}
      <a class="button" href={`/api/experiments/${id}/export.csv`} download>
        Export CSV
      </a>
    </>
  );
}
