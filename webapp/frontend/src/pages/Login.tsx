import { useEffect, useState } from "preact/hooks";
import { api, ApiError } from "../api";
import { navigate, queryParam } from "../router";
import type { AuthProvider, AuthProviders, SessionUser } from "../types";

function safeNext(): string {
  const next = queryParam("next");
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/experiments";
}

export function LoginPage({ onSignedIn }: { onSignedIn: (user: SessionUser) => void }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const [providers, setProviders] = useState<AuthProvider[]>([]);

  useEffect(() => {
    api<AuthProviders>("/api/auth/providers/").then(
      (answer) => setProviders(answer.providers ?? []),
      () => setProviders([]), // password sign-in still works
    );
  }, []);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError("");
    try {
      // The CSRF cookie comes from /api/auth/me/, read by the app before this page shows.
      const user = await api<SessionUser>("/api/auth/login/", { json: { username, password } });
      navigate(safeNext(), { replace: true });
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
        {providers.length > 0 && (
          <>
            <div class="providers">
              {providers.map((provider) => (
                <a class="button" data-provider={provider.id} href={`${provider.login_url}?process=login&next=${encodeURIComponent(safeNext())}`}>
                  Sign in with {provider.name}
                </a>
              ))}
            </div>
            <p class="or">or with your username and password</p>
          </>
        )}
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
