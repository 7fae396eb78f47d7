// The experiment page's manage panel: rename, notes, tags, archive, and delete after confirming.

import { useState } from "preact/hooks";
import { api, ApiError } from "../api";
import { navigate } from "../router";
import type { Experiment } from "../types";
import { Card, FieldErrors } from "./bits";
import { ExtendForm } from "./ExtendForm";

/** Comma-separated tags as the API takes them: trimmed, empty ones dropped. */
export function splitTags(text: string): string[] {
  return text
    .split(",")
    .map((tag) => tag.trim())
    .filter(Boolean);
}

export function ManagePanel({
  experiment,
  running,
  parameters,
  onChange,
  onExtended,
  onClose,
}: {
  experiment: Experiment;
  running: boolean;
  /** Its parameters, swept and fixed: what an extension may add values to. */
  parameters: string[];
  onChange: (experiment: Experiment) => void;
  /** New jobs were queued: the table and counts are read again. */
  onExtended: () => void;
  onClose: () => void;
}) {
  const [name, setName] = useState(experiment.name);
  const [tags, setTags] = useState((experiment.tags ?? []).join(", "));
  const [notes, setNotes] = useState(experiment.notes ?? "");
  const [errors, setErrors] = useState<Record<string, unknown>>({});
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [saved, setSaved] = useState(false);

  const send = async (changes: Record<string, unknown>) => {
    setBusy(true);
    setErrors({});
    setSaved(false);
    try {
      onChange(await api<Experiment>(`/api/experiments/${experiment.id}/`, { method: "PATCH", json: changes }));
      return true;
    } catch (failure) {
      setErrors(failure instanceof ApiError ? failure.fields : { detail: String(failure) });
      return false;
    } finally {
      setBusy(false);
    }
  };

  const save = async (event: Event) => {
    event.preventDefault();
    if (await send({ name, notes, tags: splitTags(tags) })) setSaved(true);
  };

  const remove = async () => {
    setBusy(true);
    setErrors({});
    try {
      await api<unknown>(`/api/experiments/${experiment.id}/`, { method: "DELETE" });
      navigate("/experiments");
    } catch (failure) {
      setConfirming(false);
      setErrors({ detail: failure instanceof Error ? failure.message : String(failure) });
      setBusy(false);
    }
  };

  return (
    <Card
      title="Manage"
      actions={
        <button class="small" onClick={onClose}>
          Close
        </button>
      }
    >
      <form id="manage" class="manage-form" onSubmit={save}>
        <label>
          Name
          <input name="manage-name" id="manage-name" aria-invalid={!!errors.name} value={name} onInput={(e) => setName(e.currentTarget.value)} maxLength={200} />
          <FieldErrors errors={errors.name} />
        </label>
        <label>
          Tags <span class="muted small">(separated by commas)</span>
          <input name="manage-tags" id="manage-tags" aria-invalid={!!errors.tags} placeholder="e.g. pc, lg6" value={tags} onInput={(e) => setTags(e.currentTarget.value)} />
          <FieldErrors errors={errors.tags} />
        </label>
        <label>
          Notes
          <textarea name="manage-notes" id="manage-notes" rows={4} aria-invalid={!!errors.notes} value={notes} onInput={(e) => setNotes(e.currentTarget.value)} />
          <FieldErrors errors={errors.notes} />
        </label>
        <div class="row">
          <button type="submit" class="primary" disabled={busy}>
            Save
          </button>
          {saved && (
            <span class="muted" role="status">
              Saved.
            </span>
          )}
          <span class="spacer" />
          <button type="button" disabled={busy} onClick={() => void send({ archived: !experiment.archived })}>
            {experiment.archived ? "Restore from archive" : "Archive"}
          </button>
          {confirming ? (
            <span class="confirm" role="alertdialog" aria-label="confirm delete">
              Delete it with its {experiment.job_count} jobs, results and files? This cannot be undone.
              <button type="button" class="danger" disabled={busy} onClick={() => void remove()}>
                Yes, delete
              </button>
              <button type="button" onClick={() => setConfirming(false)}>
                Keep it
              </button>
            </span>
          ) : (
            <button
              type="button"
              class="danger"
              disabled={busy || running}
              title={running ? "cancel its unfinished jobs first" : undefined}
              onClick={() => setConfirming(true)}
            >
              Delete experiment
            </button>
          )}
        </div>
        {running && <p class="muted small">An experiment with unfinished jobs cannot be deleted: cancel it first.</p>}
        <FieldErrors errors={errors.detail ?? errors.archived} />
      </form>
      {parameters.length > 0 && (
        <section class="extend" aria-labelledby="extend-title">
          <h3 id="extend-title">Add to the grid</h3>
          <p class="muted small">Only parameter values and repeats that never ran become new jobs.</p>
          <ExtendForm
            experiment={experiment}
            parameters={parameters}
            onExtended={(changed) => {
              onChange(changed);
              onExtended();
            }}
          />
        </section>
      )}
    </Card>
  );
}
