// Recurring runs: one of your experiments submitted again on a cron expression or an interval
// (django-celery-beat underneath; docs/schedules.md). Pause, resume, delete; see each firing.

import { useState } from "preact/hooks";
import { api, ApiError, getAll } from "../api";
import { Card, ErrorBox, FieldErrors, Loading } from "../components/bits";
import { formatTime } from "../format";
import { useLoad } from "../hooks";
import type { Experiment, Page, Pipeline, Schedule } from "../types";

function NewScheduleForm({ experiments, pipelines, onCreated }: { experiments: Experiment[]; pipelines: Pipeline[]; onCreated: () => void }) {
  const query = new URLSearchParams(location.search);
  const preset = query.get("pipeline") ? `p${query.get("pipeline")}` : query.get("experiment") ?? "";
  // "<id>" names an experiment, "p<id>" a pipeline.
  const [experiment, setExperiment] = useState(preset);
  const [kind, setKind] = useState<"cron" | "every">("cron");
  const [cron, setCron] = useState("0 3 * * *");
  const [every, setEvery] = useState("3600");
  const [newest, setNewest] = useState(false);
  const [errors, setErrors] = useState<Record<string, unknown>>({});
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setErrors({});
    const when = kind === "cron" ? { cron } : { every_seconds: Number(every) };
    try {
      const what = experiment.startsWith("p") ? { pipeline: Number(experiment.slice(1)) } : { experiment: Number(experiment) };
      await api<Schedule>("/api/schedules/", { json: { ...what, newest_datasets: newest, ...when } });
      onCreated();
    } catch (failure) {
      setErrors(failure instanceof ApiError ? failure.fields : { detail: String(failure) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="stack" id="new-schedule" onSubmit={submit}>
      <label>
        Experiment or pipeline
        <select name="experiment" value={experiment} onChange={(e) => setExperiment(e.currentTarget.value)} required>
          <option value="">Choose one of yours…</option>
          <optgroup label="Experiments">
            {experiments.map((x) => (
              <option value={String(x.id)}>
                #{x.id} {x.name}
              </option>
            ))}
          </optgroup>
          <optgroup label="Pipelines">
            {pipelines.map((x) => (
              <option value={`p${x.id}`}>
                pipeline #{x.id} {x.name}
              </option>
            ))}
          </optgroup>
        </select>
        <FieldErrors errors={errors.experiment} />
        <FieldErrors errors={errors.pipeline} />
      </label>
      <fieldset class="row">
        <legend>When (UTC)</legend>
        <label class="inline">
          <input type="radio" name="kind" checked={kind === "cron"} onChange={() => setKind("cron")} /> cron
        </label>
        <label class="inline">
          <input type="radio" name="kind" checked={kind === "every"} onChange={() => setKind("every")} /> every
        </label>
        {kind === "cron" ? (
          <input name="cron" aria-label="cron expression" value={cron} onInput={(e) => setCron(e.currentTarget.value)} />
        ) : (
          <input name="every_seconds" aria-label="seconds between runs" type="number" min={1} value={every} onInput={(e) => setEvery(e.currentTarget.value)} />
        )}
      </fieldset>
      <FieldErrors errors={errors.cron} />
      <FieldErrors errors={errors.every_seconds} />
      <label class="inline">
        <input type="checkbox" name="newest_datasets" checked={newest} onChange={(e) => setNewest(e.currentTarget.checked)} />
        Re-query an SQL dataset before each run
      </label>
      <span>
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Scheduling…" : "Schedule"}
        </button>
      </span>
      <FieldErrors errors={{ detail: errors.detail }} />
    </form>
  );
}

function lastFiring(schedule: Schedule) {
  const last = schedule.recent_firings[0];
  if (!last) return <span class="muted">not yet</span>;
  if (last.skipped) return <span class="warning">skipped: {last.skipped}</span>;
  if (last.pipeline) return <a href={`/pipelines/${last.pipeline}`}>pipeline #{last.pipeline}</a>;
  return <a href={`/experiments/${last.experiment}`}>experiment #{last.experiment}</a>;
}

/** The newest 200 of a list to choose from; the server refuses one that is not yours. */
async function newest<T>(path: string, signal: AbortSignal): Promise<T[]> {
  const page = await api<Page<T> | T[]>(`${path}?page_size=200`, { signal });
  return Array.isArray(page) ? page : page.results;
}

export function SchedulesPage() {
  const { data: schedules, error, reload } = useLoad((signal) => getAll<Schedule>("/api/schedules/", signal), []);
  const { data: experiments } = useLoad((signal) => newest<Experiment>("/api/experiments/", signal), []);
  const { data: pipelines } = useLoad((signal) => newest<Pipeline>("/api/pipelines/", signal), []);
  const [actionError, setActionError] = useState("");

  const act = async (schedule: Schedule, request: Promise<unknown>) => {
    setActionError("");
    try {
      await request;
      reload();
    } catch (failure) {
      setActionError(`schedule ${schedule.id}: ${(failure as Error).message}`);
    }
  };
  const setEnabled = (s: Schedule, enabled: boolean) => act(s, api(`/api/schedules/${s.id}/`, { method: "PATCH", json: { enabled } }));

  return (
    <>
      <div class="page-head">
        <h1>Schedules</h1>
      </div>
      <Card title="Run an experiment again on a clock">
        {experiments && pipelines ? <NewScheduleForm experiments={experiments} pipelines={pipelines} onCreated={reload} /> : <Loading />}
      </Card>
      <ErrorBox error={error || actionError} />
      {!schedules ? (
        !error && <Loading />
      ) : schedules.length === 0 ? (
        <p class="muted">No schedules yet.</p>
      ) : (
        <div class="card flush">
          <table class="table" id="schedules">
            <thead>
              <tr>
                <th>Runs again</th>
                <th>When</th>
                <th>Next run</th>
                <th>Last firing</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {schedules.map((s) => (
                <tr data-schedule={s.id} data-enabled={String(s.enabled)}>
                  <td>{s.pipeline ? <a href={`/pipelines/${s.pipeline}`}>pipeline #{s.pipeline}</a> : <a href={`/experiments/${s.experiment}`}>#{s.experiment}</a>}</td>
                  <td>
                    <code>{s.cron ?? `every ${s.every_seconds} s`}</code>
                    {s.newest_datasets && <span class="muted small"> · newest data</span>}
                  </td>
                  <td>{s.next_run_at ? formatTime(s.next_run_at) : <span class="muted">paused</span>}</td>
                  <td>{lastFiring(s)}</td>
                  <td class="row-actions">
                    <button class="small" onClick={() => setEnabled(s, !s.enabled)}>
                      {s.enabled ? "Pause" : "Resume"}
                    </button>
                    <button class="small danger" onClick={() => act(s, api(`/api/schedules/${s.id}/`, { method: "DELETE" }))}>
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
