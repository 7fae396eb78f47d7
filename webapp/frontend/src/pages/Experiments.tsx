// All of the user's experiments, updating live from /ws/events/; filtered by a tag, or the
// archived ones instead (`?tag=pc`, `?archived=true`, kept in the URL).

import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api } from "../api";
import { CountChips, CountsBar, ErrorBox, LiveBadge, Loading, StatusBadge } from "../components/bits";
import { elapsed, experimentTitle, formatDuration, formatTime } from "../format";
import { throttle, useFrameRender, useNow } from "../hooks";
import { Replay, useLive } from "../live";
import { navigate, useLocation } from "../router";
import { useUser } from "../session";
import type { Experiment, LiveMessage, Page } from "../types";
import { FINAL_STATUSES, UNFINISHED_EXPERIMENT } from "../types";

const PAGE = 50;

export function ExperimentsPage() {
  const rows = useRef(new Map<number, Experiment>());
  const [total, setTotal] = useState<number | null>(null);
  const [limit, setLimit] = useState(PAGE);
  const [error, setError] = useState<Error | null>(null);
  const [loaded, setLoaded] = useState(false);
  const render = useFrameRender();
  const user = useUser();
  const limitRef = useRef(limit);
  limitRef.current = limit;
  const where = useLocation();
  const query = useMemo(() => new URLSearchParams(location.search), [where]);
  const tag = query.get("tag") ?? "";
  const archived = query.get("archived") === "true";
  const filtersRef = useRef("");
  filtersRef.current = `${tag ? `&tag=${encodeURIComponent(tag)}` : ""}${archived ? "&archived=true" : ""}`;
  const setFilters = (next: { tag?: string; archived?: boolean }) => {
    const search = new URLSearchParams();
    const nextTag = next.tag ?? tag;
    if (nextTag) search.set("tag", nextTag);
    if (next.archived ?? archived) search.set("archived", "true");
    const text = search.toString();
    navigate(`/experiments${text ? `?${text}` : ""}`, { replace: true, keepScroll: true });
  };

  const replay = useRef(new Replay<LiveMessage>());
  const refresh = useMemo(
    () =>
      throttle(async () => {
        try {
          await replay.current.read(
            () => api<Page<Experiment>>(`/api/experiments/?page_size=${limitRef.current}${filtersRef.current}`),
            (page) => {
              rows.current = new Map(page.results.map((e) => [e.id, e]));
              setTotal(page.count);
            },
            (message) => apply(message),
          );
          setError(null);
        } catch (failure) {
          setError(failure as Error);
        }
        setLoaded(true);
        render();
      }, 300),
    [render],
  );

  // One experiment re-read over REST (its first start and last finish are not in the event).
  const refreshOne = useMemo(() => {
    const wanted = new Set<number>();
    const run = throttle(async () => {
      const ids = [...wanted];
      wanted.clear();
      for (const id of ids) {
        try {
          rows.current.set(id, await api<Experiment>(`/api/experiments/${id}/`));
        } catch {
          rows.current.delete(id);
        }
      }
      render();
    }, 500);
    return (id: number) => {
      wanted.add(id);
      run();
    };
  }, [render]);

  /** One live message onto the list; false when the list must be re-read (a new experiment). */
  const apply = (message: LiveMessage): boolean => {
    if (message.type !== "experiment.updated") return true;
    const data = message.data;
    const known = rows.current.get(data.id);
    if (!known) return false;
    rows.current.set(data.id, { ...known, ...data });
    if (known.status !== data.status || !known.started_at) refreshOne(data.id);
    return true;
  };

  const onMessage = (message: LiveMessage) => {
    replay.current.note(message);
    // A new experiment (perhaps from another tab or the CLI) has no tag and is not archived:
    // a filtered list never shows it.
    if (!apply(message) && !filtersRef.current) refresh();
    render();
  };

  const firstFilters = useRef(true);
  useEffect(() => {
    if (firstFilters.current) {
      firstFilters.current = false;
      return;
    }
    rows.current = new Map();
    setLoaded(false);
    refresh();
  }, [tag, archived]);

  const connected = useLive({ path: "/ws/events/", onMessage, refresh, pollMs: 4000 });
  const list = [...rows.current.values()].sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id - a.id);
  const now = useNow(list.some((e) => UNFINISHED_EXPERIMENT.has(e.status)));

  return (
    <>
      <div class="page-head">
        <h1>Experiments</h1>
        <LiveBadge connected={connected} />
        <span class="spacer" />
        <a class="button primary" href="/experiments/new">
          New experiment
        </a>
      </div>
      <div class="list-filters" role="group" aria-label="filter experiments">
        {tag && (
          <span class="tag active" data-tag={tag}>
            tag: {tag}
            <button class="small" aria-label={`Stop filtering by ${tag}`} onClick={() => setFilters({ tag: "" })}>
              ✕
            </button>
          </span>
        )}
        <label class="toggle">
          <input type="checkbox" name="show-archived" checked={archived} onChange={() => setFilters({ archived: !archived })} />
          Archived experiments instead
        </label>
      </div>
      <ErrorBox error={error} />
      {!loaded ? (
        <Loading />
      ) : list.length === 0 && (tag || archived) ? (
        <div class="card empty">
          <p>No {archived ? "archived " : ""}experiments{tag ? ` tagged ${tag}` : ""}.</p>
        </div>
      ) : list.length === 0 ? (
        <div class="card empty">
          <p>No experiments yet.</p>
          <p>
            <a class="button primary" href="/experiments/new">
              Start one
            </a>
          </p>
        </div>
      ) : (
        <div class="card flush">
          <table class="table" id="experiments">
            <thead>
              <tr>
                <th>Name</th>
                <th>Algorithm</th>
                <th>Status</th>
                <th class="wide">Progress</th>
                <th>Counts</th>
                <th>Started</th>
                <th>Duration</th>
              </tr>
            </thead>
            <tbody>
              {list.map((e) => {
                const final = FINAL_STATUSES.has(e.status);
                const duration = elapsed(e.started_at, final ? e.finished_at : null, now);
                return (
                  <tr data-experiment={e.id}>
                    <td>
                      <a href={`/experiments/${e.id}`}>{experimentTitle(e)}</a>
                      {(e.tags ?? []).map((name) => (
                        <a class="tag" href={`/experiments?tag=${encodeURIComponent(name)}`} data-tag={name}>
                          {name}
                        </a>
                      ))}
                      {e.owner && e.owner !== user.username && (
                        <span class="shared-tag" data-owner={e.owner} title={`owned by ${e.owner}`}>
                          {e.shared_with?.includes(user.username ?? "") ? `shared by ${e.owner}` : e.owner}
                        </span>
                      )}
                    </td>
                    <td>{e.algorithm}</td>
                    <td>
                      <StatusBadge status={e.status} />
                    </td>
                    <td>
                      <CountsBar counts={e.counts} total={e.job_count} />
                    </td>
                    <td>
                      <CountChips counts={e.counts} />
                    </td>
                    <td title={`submitted ${formatTime(e.created_at)}`}>{e.started_at ? formatTime(e.started_at) : <span class="muted">queued</span>}</td>
                    <td>{formatDuration(duration)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {total !== null && total > list.length && (
            <div class="table-foot">
              <button
                onClick={() => {
                  setLimit(limit + PAGE);
                  limitRef.current = limit + PAGE;
                  refresh();
                }}
              >
                Show more ({total - list.length} older)
              </button>
            </div>
          )}
        </div>
      )}
    </>
  );
}
