import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, onSignedOut } from "./api";
import { interceptLinks, navigate, useLocation } from "./router";
import type { SessionUser } from "./types";
import { AccountPage } from "./pages/Account";
import { AlgorithmsPage } from "./pages/Algorithms";
import { ComparePage } from "./pages/Compare";
import { DatasetsPage } from "./pages/Datasets";
import { ExperimentPage } from "./pages/Experiment";
import { ExperimentsPage } from "./pages/Experiments";
import { JobPage } from "./pages/Job";
import { LoginPage } from "./pages/Login";
import { NewExperimentPage } from "./pages/NewExperiment";
import { NodesPage } from "./pages/Nodes";
import { SchedulesPage } from "./pages/Schedules";
import { PipelinePage, PipelinesPage } from "./pages/Pipelines";
import { UsagePage } from "./pages/Usage";
import { UserContext } from "./session";
import "./styles.css";

function Page({ path }: { path: string }) {
  let match: RegExpMatchArray | null;
  if (path === "/experiments" || path === "/experiments/") return <ExperimentsPage />;
  if (path === "/experiments/new" || path === "/experiments/new/") return <NewExperimentPage />;
  if ((match = path.match(/^\/experiments\/(\d+)\/?$/))) return <ExperimentPage id={Number(match[1])} />;
  if ((match = path.match(/^\/jobs\/(\d+)\/?$/))) return <JobPage id={Number(match[1])} />;
  if (/^\/pipelines\/?$/.test(path)) return <PipelinesPage />;
  if ((match = path.match(/^\/pipelines\/(\d+)\/?$/))) return <PipelinePage id={Number(match[1])} />;
  if (/^\/compare\/?$/.test(path)) return <ComparePage />;
  if (/^\/datasets\/?$/.test(path)) return <DatasetsPage />;
  if (/^\/algorithms\/?$/.test(path)) return <AlgorithmsPage />;
  if (/^\/nodes\/?$/.test(path)) return <NodesPage />;
  if (/^\/usage\/?$/.test(path)) return <UsagePage />;
  if (/^\/schedules\/?$/.test(path)) return <SchedulesPage />;
  if (/^\/account\/?$/.test(path)) return <AccountPage />;
  return (
    <div class="card">
      <h1>Not found</h1>
      <p>
        Nothing lives at <code>{path}</code>. Back to <a href="/experiments">experiments</a>.
      </p>
    </div>
  );
}

const NAV = [
  ["/experiments", "Experiments"],
  ["/experiments/new", "New experiment"],
  ["/pipelines", "Pipelines"],
  ["/datasets", "Datasets"],
  ["/schedules", "Schedules"],
  ["/algorithms", "Algorithms"],
  ["/nodes", "Nodes"],
  ["/usage", "Usage"],
  ["/account", "Account"],
] as const;

function App() {
  const where = useLocation();
  const path = where.split("?")[0];
  const [user, setUser] = useState<SessionUser | null>(null);
  const [menuOpen, setMenuOpen] = useState(false);
  useEffect(() => setMenuOpen(false), [where]); // a phone's menu closes on navigation

  useEffect(() => {
    api<SessionUser>("/api/auth/me/").then(setUser, () => setUser({ authenticated: false }));
    onSignedOut(() => setUser({ authenticated: false }));
  }, []);

  useEffect(() => {
    if (!user) return;
    if (!user.authenticated && path !== "/login") {
      const next = path === "/" ? "" : `?next=${encodeURIComponent(where)}`;
      navigate(`/login${next}`, { replace: true });
    } else if (user.authenticated && (path === "/" || path === "/login")) {
      navigate("/experiments", { replace: true });
    }
  }, [user, path, where]);

  const signOut = async () => {
    await api<SessionUser>("/api/auth/logout/", { method: "POST" }).catch(() => null);
    setUser({ authenticated: false });
  };

  if (!user) return <p class="muted boot">Loading Petri…</p>;
  if (!user.authenticated || path === "/login") {
    return <LoginPage onSignedIn={(signedIn) => setUser(signedIn)} />;
  }
  const active = (href: string) =>
    href === "/experiments" ? path === "/experiments" || /^\/experiments\/\d+/.test(path) || path.startsWith("/jobs/") : path.startsWith(href);
  return (
    <UserContext.Provider value={user}>
      <a class="skip-link" href="#main" onClick={(e) => {
        e.preventDefault();
        document.getElementById("main")?.focus();
      }}>
        Skip to content
      </a>
      <header class={`topbar ${menuOpen ? "open" : ""}`}>
        <a class="brand" href="/experiments">
          <span class="dot" /> Petri
        </a>
        <button
          type="button"
          class="nav-toggle"
          aria-expanded={menuOpen}
          aria-controls="site-nav"
          onClick={() => setMenuOpen(!menuOpen)}
        >
          Menu
        </button>
        <nav id="site-nav" aria-label="main">
          {NAV.map(([href, text]) => (
            <a href={href} class={active(href) ? "active" : ""}>
              {text}
            </a>
          ))}
        </nav>
        <div class="who">
          <a href="/api/docs/" class="subtle">
            API
          </a>
          {user.is_staff && (
            <a href="/admin/" class="subtle">
              Admin
            </a>
          )}
          <span class="user" data-user={user.username}>
            {user.username}
          </span>
          <button class="link" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Page path={path} key={path} />
      </main>
    </UserContext.Provider>
  );
}

interceptLinks();
render(<App />, document.getElementById("app")!);
