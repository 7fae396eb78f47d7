import { useState } from "preact/hooks";
import { api, ApiError } from "../api";
import { navigate, queryParam } from "../router";
import type { SessionUser } from "../types";

export function LoginPage({ onSignedIn }: { onSignedIn: (user: SessionUser) => void }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError("");
    try {
      // The CSRF cookie comes from /api/auth/me/, read by the app before this page shows.
      const user = await api<SessionUser>("/api/auth/login/", { json: { username, password } });
      const next = queryParam("next");
      navigate(next && next.startsWith("/") && !next.startsWith("//") ? next : "/experiments", { replace: true });
      onSignedIn(user);
    } catch (failure) {
      setError(failure instanceof ApiError ? failure.message : "could not reach the server");
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="login">
      <form class="card login-card" onSubmit={submit}>
        <h1>
          <span class="dot" /> Petri
        </h1>
        <p class="muted">Run algorithms over parameter grids and read the results as they arrive.</p>
        <label>
          Username
          <input name="username" autoComplete="username" value={username} onInput={(e) => setUsername(e.currentTarget.value)} required autoFocus />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
            required
          />
        </label>
        {error && (
          <p class="field-errors" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </div>
  );
}
