// The experiment page's sharing panel.

import { useState } from "preact/hooks";
import { api, ApiError } from "../api";
import type { Experiment } from "../types";
import { Card, CopyBox, FieldErrors } from "./bits";

/** The owner's (or staff's) sharing controls: who may read it, add and remove names, a link. */
export function SharePanel({ experiment, onChange, onClose }: { experiment: Experiment; onChange: (sharedWith: string[]) => void; onClose: () => void }) {
  const [names, setNames] = useState("");
  const [errors, setErrors] = useState<Record<string, unknown>>({});
  const [busy, setBusy] = useState(false);
  const shared = experiment.shared_with ?? [];
  const link = `${location.origin}/experiments/${experiment.id}`;

  const send = async (method: "POST" | "DELETE", usernames: string[]) => {
    setBusy(true);
    setErrors({});
    try {
      const answer = await api<{ shared_with: string[] }>(`/api/experiments/${experiment.id}/share/`, { method, json: { usernames } });
      onChange(answer.shared_with);
      return true;
    } catch (failure) {
      setErrors(failure instanceof ApiError ? failure.fields : { detail: String(failure) });
      return false;
    } finally {
      setBusy(false);
    }
  };

  const submit = async (event: Event) => {
    event.preventDefault();
    const usernames = names
      .split(/[\s,]+/)
      .map((name) => name.trim())
      .filter(Boolean);
    if (usernames.length && (await send("POST", usernames))) setNames("");
  };

  return (
    <Card
      title="Sharing"
      actions={
        <button class="small" onClick={onClose}>
          Close
        </button>
      }
    >
      <div id="sharing">
        <p class="muted">People you share with can read this experiment, its jobs, logs, files and results, but not change it or see its dataset.</p>
        {shared.length === 0 ? (
          <p class="muted">Not shared with anyone.</p>
        ) : (
          <ul class="share-list" aria-label="shared with">
            {shared.map((name) => (
              <li data-shared-with={name}>
                {name}
                <button class="small" title={`stop sharing with ${name}`} aria-label={`Stop sharing with ${name}`} disabled={busy} onClick={() => send("DELETE", [name])}>
                  ✕
                </button>
              </li>
            ))}
          </ul>
        )}
        <form class="row share-form" onSubmit={submit}>
          <label class="grow">
            Share with
            <input name="share-usernames" placeholder="usernames, separated by commas" value={names} onInput={(e) => setNames(e.currentTarget.value)} />
            <FieldErrors errors={errors.usernames ?? errors.detail} />
          </label>
          <button type="submit" class="primary" disabled={busy || !names.trim()}>
            Share
          </button>
        </form>
        <label>
          Link to this page
          <CopyBox value={link} label="experiment link" />
        </label>
      </div>
    </Card>
  );
}
