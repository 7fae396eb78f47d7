// Extending a grid from the experiment page: values to add to one parameter, or more repeats.
// Only points never queued become new jobs (POST /api/experiments/<id>/extend/).

import { useState } from "preact/hooks";
import { api, ApiError, flattenErrors } from "../api";
import type { Experiment } from "../types";
import { FieldErrors } from "./bits";

/** "0.1, 0.2, fisherz, true" as the API's values: numbers and booleans typed, the rest text. */
export function parseValues(text: string): unknown[] {
  return text
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      if (part === "true" || part === "false") return part === "true";
      const number = Number(part);
      return Number.isFinite(number) ? number : part;
    });
}

export function ExtendForm({
  experiment,
  parameters,
  onExtended,
}: {
  experiment: Experiment;
  /** The experiment's parameters, swept and fixed. */
  parameters: string[];
  onExtended: (experiment: Experiment) => void;
}) {
  const [name, setName] = useState(parameters[0] ?? "");
  const [values, setValues] = useState("");
  const [repeats, setRepeats] = useState(String(experiment.repeats ?? 1));
  const [errors, setErrors] = useState<Record<string, unknown>>({});
  const [added, setAdded] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    const body: Record<string, unknown> = {};
    const chosen = name || parameters[0];
    if (values.trim() && chosen) body.parameters = { [chosen]: parseValues(values) };
    if (repeats.trim() && Number(repeats) !== experiment.repeats) body.repeats = Number(repeats);
    setBusy(true);
    setErrors({});
    setAdded(null);
    try {
      const answer = await api<{ added: number; experiment: Experiment }>(`/api/experiments/${experiment.id}/extend/`, { json: body });
      setAdded(answer.added);
      setValues("");
      onExtended(answer.experiment);
    } catch (failure) {
      setErrors(failure instanceof ApiError ? failure.fields : { detail: String(failure) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <form id="extend" class="row extend-form" onSubmit={submit} aria-label="extend the grid">
      <label>
        Parameter
        <select name="extend-parameter" value={name} onChange={(e) => setName(e.currentTarget.value)}>
          {parameters.map((param) => (
            <option value={param}>{param}</option>
          ))}
        </select>
      </label>
      <label class="grow">
        Values to add <span class="muted small">(separated by commas)</span>
        <input name="extend-values" id="extend-values" aria-invalid={!!errors.parameters} placeholder="e.g. 0.2, 0.3" value={values} onInput={(e) => setValues(e.currentTarget.value)} />
        <FieldErrors errors={flattenErrors(errors.parameters)} />
      </label>
      <label>
        Repeats
        <input name="extend-repeats" id="extend-repeats" inputMode="numeric" aria-invalid={!!errors.repeats} value={repeats} onInput={(e) => setRepeats(e.currentTarget.value)} />
        <FieldErrors errors={errors.repeats} />
      </label>
      <button type="submit" disabled={busy}>
        Add jobs
      </button>
      {added !== null && (
        <span class="muted" role="status">
          {added} job{added === 1 ? "" : "s"} added.
        </span>
      )}
      <FieldErrors errors={errors.detail} />
    </form>
  );
}
