// The user's own account: personal API tokens (a new key shown once) and e-mail preferences.

import { useState } from "preact/hooks";
import { api, ApiError } from "../api";
import { Card, CopyBox, ErrorBox, FieldErrors, Loading } from "../components/bits";
import { formatTime } from "../format";
import { useLoad } from "../hooks";
import type { ApiToken, Me } from "../types";

/** When a token stops working: never, a time, or that it already has (and no longer signs in). */
function Expiry({ at }: { at: string | null }) {
  if (!at) return <span class="muted">never</span>;
  if (Date.parse(at) <= Date.now()) {
    return (
      <span class="expired" data-expired="true" title={`expired ${formatTime(at)}`}>
        expired {formatTime(at)}
      </span>
    );
  }
  return <span title="it stops working then">{formatTime(at)}</span>;
}

function NewTokenForm({ onCreated }: { onCreated: (token: ApiToken) => void }) {
  const [name, setName] = useState("");
  const [errors, setErrors] = useState<Record<string, unknown>>({});
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setErrors({});
    try {
      onCreated(await api<ApiToken>("/api/tokens/", { json: { name } }));
      setName("");
    } catch (failure) {
      setErrors(failure instanceof ApiError ? failure.fields : { detail: String(failure) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="row token-form" onSubmit={submit}>
      <label class="grow">
        Name
        <input name="token-name" placeholder="e.g. laptop, CI" value={name} onInput={(e) => setName(e.currentTarget.value)} required maxLength={100} />
        <FieldErrors errors={errors.name} />
      </label>
      <button type="submit" class="primary" disabled={busy}>
        {busy ? "Creating…" : "Create token"}
      </button>
      <FieldErrors errors={{ detail: errors.detail }} />
    </form>
  );
}

function Notifications() {
  const { data: me, error } = useLoad((signal) => api<Me>("/api/me/", { signal }), []);
  const [saved, setSaved] = useState<Me | null>(null);
  const [saveError, setSaveError] = useState("");
  const [busy, setBusy] = useState(false);
  const current = saved ?? me;

  const toggle = async (on: boolean) => {
    if (!current) return;
    const before = current;
    setSaved({ ...current, email_notifications: on }); // shown at once, undone if refused
    setBusy(true);
    setSaveError("");
    try {
      setSaved(await api<Me>("/api/me/", { method: "PATCH", json: { email_notifications: on } }));
    } catch (failure) {
      setSaved(before);
      setSaveError((failure as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card title="E-mail">
      <ErrorBox error={error || saveError} />
      {!current ? (
        !error && <Loading />
      ) : (
        <>
          <label class="inline">
            <input
              type="checkbox"
              name="email_notifications"
              checked={current.email_notifications}
              disabled={busy}
              onChange={(e) => toggle(e.currentTarget.checked)}
            />
            E-mail me when one of my experiments ends
          </label>
          <p class="muted small">{current.email ? `Sent to ${current.email}.` : "Your account has no e-mail address; ask an operator to add one."}</p>
        </>
      )}
    </Card>
  );
}

export function AccountPage() {
  const { data: tokens, error, reload } = useLoad((signal) => api<ApiToken[]>("/api/tokens/", { signal }), []);
  const [created, setCreated] = useState<ApiToken | null>(null);
  const [confirmRevoke, setConfirmRevoke] = useState<number | null>(null);
  const [actionError, setActionError] = useState("");

  const revoke = async (token: ApiToken) => {
    setConfirmRevoke(null);
    setActionError("");
    try {
      await api(`/api/tokens/${token.id}/`, { method: "DELETE" });
      if (created?.id === token.id) setCreated(null);
      reload();
    } catch (failure) {
      setActionError(`${token.name}: ${(failure as Error).message}`);
    }
  };

  return (
    <>
      <div class="page-head">
        <h1>Account</h1>
      </div>
      <Card title="Personal API tokens">
        <p class="muted">
          Scripts and the CLI sign in with a token: <code>Authorization: Token &lt;key&gt;</code>. Make one per machine so you can revoke it alone.
        </p>
        <NewTokenForm
          onCreated={(token) => {
            setCreated(token);
            reload();
          }}
        />
        {created?.key && (
          <div class="new-key" id="new-key" data-token={created.id}>
            <p class="warning">⚠ Copy the key of “{created.name}” now: it is shown only this once and cannot be read again.</p>
            <CopyBox value={created.key} label="new token key" />
            <span>
              <button class="small" onClick={() => setCreated(null)}>
                I have stored it
              </button>
            </span>
          </div>
        )}
      </Card>
      <ErrorBox error={error || actionError} />
      {!tokens ? (
        !error && <Loading />
      ) : tokens.length === 0 ? (
        <p class="muted">No tokens yet.</p>
      ) : (
        <div class="card flush">
          <table class="table" id="tokens">
            <thead>
              <tr>
                <th>Name</th>
                <th>Prefix</th>
                <th>Created</th>
                <th>Last used</th>
                <th>Expires</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {tokens.map((token) => (
                <tr data-token={token.id}>
                  <td>{token.name}</td>
                  <td>
                    <code>{token.prefix}…</code>
                  </td>
                  <td>{formatTime(token.created_at)}</td>
                  <td class="last-used">{token.last_used_at ? formatTime(token.last_used_at) : <span class="muted">never</span>}</td>
                  <td class="expires">
                    <Expiry at={token.expires_at} />
                  </td>
                  <td class="row-actions">
                    {confirmRevoke === token.id ? (
                      <span class="confirm">
                        Scripts using it stop working.
                        <button class="small danger" onClick={() => revoke(token)}>
                          Revoke it
                        </button>
                        <button class="small" onClick={() => setConfirmRevoke(null)}>
                          Keep
                        </button>
                      </span>
                    ) : (
                      <button class="small" onClick={() => setConfirmRevoke(token.id)}>
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Notifications />
    </>
  );
}
