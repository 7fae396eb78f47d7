// The new-experiment form: generated from the algorithm's parameter schema.

import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, ApiError, getAll, results } from "../api";
import { Card, ErrorBox, FieldErrors, Loading } from "../components/bits";
import { ErrorSummary } from "../components/ErrorSummary";
import { ParamField } from "../components/ParamField";
import type { Errors, Resources, UploadedCode } from "../experimentform";
import { codeAlgorithm, errorLinks, flattenUpload, numberOr, sub } from "../experimentform";
import { formatBytes } from "../format";
import { navigate, queryParam } from "../router";
import type { FieldState } from "../sweep";
import { emptyField, fieldFrom, fieldValue, gridSize } from "../sweep";
import type { Algorithm, Dataset, Experiment, Page } from "../types";

export function NewExperimentPage() {
  const [algorithms, setAlgorithms] = useState<Algorithm[] | null>(null);
  const [datasets, setDatasets] = useState<Dataset[]>([]);
  const [nodes, setNodes] = useState<string[]>([]);
  const [loadError, setLoadError] = useState<Error | null>(null);
  const [algorithmName, setAlgorithmName] = useState("");
  const [fields, setFields] = useState<Record<string, FieldState>>({});
  const [name, setName] = useState("");
  const [datasetId, setDatasetId] = useState("");
  const [repeats, setRepeats] = useState("1");
  const [priority, setPriority] = useState("0");
  const [timeout, setTimeoutText] = useState("");
  const [resources, setResources] = useState<Resources>({ cpu: "", memory: "", gpu: "", node: "" });
  const [errors, setErrors] = useState<Errors>({});
  const [submitting, setSubmitting] = useState(false);
  const [uploading, setUploading] = useState(false);
  const [objective, setObjective] = useState("");
  const [objectiveOrder, setObjectiveOrder] = useState("");
  /** The uploaded code of the experiment run again, under its algorithm's name. */
  const [code, setCode] = useState<{ name: string; code: UploadedCode } | null>(null);
  const [focusFirstError, setFocusFirstError] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);

  // After a refused submit: focus the first field with an error (the summary lists them all).
  useEffect(() => {
    if (!focusFirstError) return;
    setFocusFirstError(false);
    const first = formRef.current?.querySelector(".param .field-errors, label .field-errors, [data-field] .field-errors");
    const input = first?.closest(".param, label, [data-field]")?.querySelector<HTMLElement>("input, select, textarea");
    (input ?? formRef.current?.querySelector<HTMLElement>(".error-summary"))?.focus();
  }, [focusFirstError]);

  const algorithm = algorithms?.find((a) => a.name === algorithmName) ?? null;

  const choose = (chosen: Algorithm | undefined, submitted: Record<string, unknown> = {}) => {
    setAlgorithmName(chosen?.name ?? "");
    setFields(Object.fromEntries((chosen?.parameters ?? []).map((spec) => [spec.name, fieldFrom(spec, submitted[spec.name])])));
    setErrors({});
  };

  useEffect(() => {
    (async () => {
      const [catalog, owned] = await Promise.all([
        api<Algorithm[] | Page<Algorithm>>("/api/algorithms/").then(results),
        getAll<Dataset>("/api/datasets/?page_size=1000"),
      ]);
      setAlgorithms(catalog);
      setDatasets(owned);
      const from = queryParam("from");
      if (from) {
        const previous = await api<Experiment & { code?: UploadedCode | null }>(`/api/experiments/${from}/`);
        let chosen = catalog.find((a) => a.name === previous.algorithm);
        if (!chosen && previous.code) {
          // Uploaded code is no catalog entry: offer it, with the schema it was run with.
          chosen = codeAlgorithm(previous.algorithm, previous.code);
          setAlgorithms([chosen, ...catalog]);
          setCode({ name: previous.algorithm, code: previous.code });
        }
        choose(chosen, previous.parameters);
        setObjective(previous.objective ?? "");
        setObjectiveOrder(previous.objective_order ?? "");
        setName(previous.name ? `${previous.name} (again)` : "");
        setDatasetId(previous.dataset ? String(previous.dataset) : "");
        setRepeats(String(previous.repeats));
        setPriority(String(previous.priority));
        setTimeoutText(previous.timeout ? String(previous.timeout) : "");
      } else {
        choose(catalog.find((a) => a.name === queryParam("algorithm")) ?? catalog[0]);
      }
    })().catch(setLoadError);
    api<unknown>("/api/nodes/")
      .then((answer) => {
        const list = Array.isArray(answer) ? answer : ((answer as { results?: unknown[] })?.results ?? []);
        setNodes(list.map((node) => String((node as { name?: string }).name ?? "")).filter(Boolean));
      })
      .catch(() => setNodes([]));
  }, []);

  const values = useMemo(
    () => (algorithm ? algorithm.parameters.map((spec) => fieldValue(spec, fields[spec.name] ?? emptyField(spec))) : []),
    [algorithm, fields],
  );
  const size = gridSize(values, Number(repeats) || 1);
  const invalid = values.some((v) => v.kind === "invalid");

  const upload = async (event: Event) => {
    const input = event.currentTarget as HTMLInputElement;
    const file = input.files?.[0];
    if (!file) return;
    setUploading(true);
    const form = new FormData();
    form.append("file", file);
    form.append("name", file.name);
    try {
      const dataset = await api<Dataset>("/api/datasets/", { form });
      setDatasets((list) => [dataset, ...list.filter((d) => d.id !== dataset.id)]);
      setDatasetId(String(dataset.id));
      setErrors((e) => ({ ...e, dataset: undefined }));
    } catch (failure) {
      setErrors((e) => ({ ...e, dataset: failure instanceof ApiError ? flattenUpload(failure) : String(failure) }));
    } finally {
      setUploading(false);
      input.value = "";
    }
  };

  const submit = async (event: Event) => {
    event.preventDefault();
    if (!algorithm) return;
    const parameters: Record<string, unknown> = {};
    algorithm.parameters.forEach((spec, i) => {
      const value = values[i];
      if (value.kind === "send") parameters[spec.name] = value.value;
    });
    const requested: Record<string, unknown> = {};
    if (resources.cpu.trim()) requested.cpu = numberOr(resources.cpu);
    if (resources.memory.trim()) requested.memory = resources.memory.trim();
    if (resources.gpu.trim()) requested.gpu = numberOr(resources.gpu);
    if (resources.node.trim()) requested.node = resources.node.trim();
    const body: Record<string, unknown> = {
      name,
      ...(code && algorithm.name === code.name
        ? { artifact: code.code.artifact, entrypoint: code.code.entrypoint, parameter_schema: code.code.parameter_schema }
        : { algorithm: algorithm.name }),
      dataset: datasetId ? Number(datasetId) : null,
      parameters,
      repeats: numberOr(repeats),
      priority: numberOr(priority),
      resources: requested,
    };
    if (timeout.trim()) body.timeout = numberOr(timeout);
    if (objective.trim()) {
      body.objective = objective.trim();
      if (objectiveOrder) body.objective_order = objectiveOrder;
    }
    setSubmitting(true);
    setErrors({});
    try {
      const experiment = await api<Experiment>("/api/experiments/", { json: body });
      navigate(`/experiments/${experiment.id}`);
    } catch (failure) {
      if (failure instanceof ApiError && failure.status === 400) setErrors(failure.fields);
      else setErrors({ detail: failure instanceof Error ? failure.message : String(failure) });
      setFocusFirstError(true);
    } finally {
      setSubmitting(false);
    }
  };

  if (loadError) return <ErrorBox error={loadError} />;
  if (!algorithms) return <Loading />;

  const paramErrors = errors.parameters;
  const resourceErrors = sub(errors, "resources");
  const generalErrors = [errors.detail, errors.non_field_errors, errors.algorithm].filter(Boolean);
  const summary = errorLinks(errors);

  return (
    <form class="new-experiment" onSubmit={submit} noValidate ref={formRef}>
      <div class="page-head">
        <h1>New experiment</h1>
      </div>
      <ErrorSummary links={summary} />
      <FieldErrors errors={generalErrors} />
      <Card title="Algorithm">
        <div class="row">
          <label class="grow">
            Algorithm
            <select name="algorithm" value={algorithmName} onChange={(e) => choose(algorithms.find((a) => a.name === e.currentTarget.value))}>
              {algorithms.map((a) => (
                <option value={a.name}>
                  {a.title} ({a.name})
                </option>
              ))}
            </select>
          </label>
          <label class="grow">
            <span>
              Name <span class="muted">(optional)</span>
            </span>
            <input name="name" id="field-name" aria-invalid={!!errors.name} aria-describedby={errors.name ? "field-name-errors" : undefined} value={name} onInput={(e) => setName(e.currentTarget.value)} placeholder="e.g. alpha sweep on lg6" />
            <FieldErrors errors={errors.name} id="field-name-errors" />
          </label>
        </div>
        {algorithm && <p class="muted">{algorithm.description}</p>}
      </Card>

      {algorithm && (
        <Card
          title="Parameters"
          actions={
            <span class="grid-size" data-grid-size={size ?? ""}>
              {size === null ? "grid size unknown" : `${size} job${size === 1 ? "" : "s"}`}
            </span>
          }
        >
          <p class="muted small">
            Each field takes one value, a list (comma-separated) or, for numbers, a range whose stop is included. Leave a field empty to use its default.
          </p>
          {Array.isArray(paramErrors) && <FieldErrors errors={paramErrors} />}
          <div class="params">
            {algorithm.parameters.map((spec, i) => (
              <ParamField
                spec={spec}
                field={fields[spec.name] ?? emptyField(spec)}
                value={values[i]}
                errors={sub(errors, "parameters")[spec.name]}
                onChange={(field) => setFields((all) => ({ ...all, [spec.name]: field }))}
              />
            ))}
          </div>
          {Object.keys(sub(errors, "parameters"))
            .filter((key) => !algorithm.parameters.some((spec) => spec.name === key))
            .map((key) => (
              <FieldErrors errors={{ [key]: sub(errors, "parameters")[key] }} />
            ))}
        </Card>
      )}

      {algorithm && algorithm.dataset_input !== "none" && (
        <Card title={`Dataset ${algorithm.dataset_input === "required" ? "(required)" : "(optional)"}`}>
          <div class="row" data-field="dataset">
            <label class="grow">
              Dataset
              <select name="dataset" id="field-dataset" value={datasetId} onChange={(e) => setDatasetId(e.currentTarget.value)}>
                <option value="">{algorithm.dataset_input === "required" ? "— choose a dataset —" : "no dataset"}</option>
                {datasets.map((d) => (
                  <option value={String(d.id)}>
                    {d.name} · {d.rows} rows × {d.columns.length} columns · {formatBytes(d.size)}
                    {d.has_truth ? " · has truth" : ""}
                  </option>
                ))}
              </select>
            </label>
            <label class="upload">
              or upload a CSV
              <input type="file" name="dataset-file" accept=".csv,text/csv" onChange={upload} disabled={uploading} />
            </label>
          </div>
          <FieldErrors errors={errors.dataset} />
        </Card>
      )}

      {algorithm && (
        <Card title="Run">
          <div class="row">
            <label>
              Repeats
              <input name="repeats" id="field-repeats" aria-invalid={!!errors.repeats} aria-describedby={errors.repeats ? "field-repeats-errors" : undefined} inputMode="numeric" value={repeats} onInput={(e) => setRepeats(e.currentTarget.value)} />
              <FieldErrors errors={errors.repeats} id="field-repeats-errors" />
            </label>
            <label>
              Priority
              <input name="priority" id="field-priority" aria-invalid={!!errors.priority} aria-describedby={errors.priority ? "field-priority-errors" : undefined} inputMode="numeric" value={priority} onInput={(e) => setPriority(e.currentTarget.value)} />
              <FieldErrors errors={errors.priority} id="field-priority-errors" />
            </label>
            <label>
              <span>
                Objective metric <span class="muted">(optional)</span>
              </span>
              <input name="objective" id="field-objective" aria-invalid={!!errors.objective} aria-describedby={errors.objective ? "field-objective-errors" : undefined} placeholder="e.g. f1" value={objective} onInput={(e) => setObjective(e.currentTarget.value)} />
              <FieldErrors errors={errors.objective} id="field-objective-errors" />
            </label>
            <label>
              Better is
              <select name="objective_order" id="field-objective_order" value={objectiveOrder} onChange={(e) => setObjectiveOrder(e.currentTarget.value)}>
                <option value="">(server default)</option>
                <option value="max">higher</option>
                <option value="min">lower</option>
              </select>
              <FieldErrors errors={errors.objective_order} />
            </label>
            <label>
              Timeout per job (s)
              <input name="timeout" id="field-timeout" aria-invalid={!!errors.timeout} aria-describedby={errors.timeout ? "field-timeout-errors" : undefined} inputMode="numeric" placeholder="none" value={timeout} onInput={(e) => setTimeoutText(e.currentTarget.value)} />
              <FieldErrors errors={errors.timeout} id="field-timeout-errors" />
            </label>
          </div>
          <div class="row" data-field="resources">
            {(["cpu", "memory", "gpu", "node"] as const).map((key) => (
              <label>
                {key === "cpu" ? "CPU cores" : key === "memory" ? "Memory" : key === "gpu" ? "GPUs" : "Node"}
                <input
                  name={`resources.${key}`}
                  id={`resources-${key}`}
                  aria-invalid={!!resourceErrors[key]}
                  aria-describedby={resourceErrors[key] ? `resources-${key}-errors` : undefined}
                  list={key === "node" && nodes.length ? "node-names" : undefined}
                  placeholder={key === "node" ? "any" : String(algorithm.resources?.[key] ?? "")}
                  value={resources[key]}
                  onInput={(e) => setResources({ ...resources, [key]: e.currentTarget.value })}
                />
                <FieldErrors errors={resourceErrors[key]} id={`resources-${key}-errors`} />
              </label>
            ))}
            <datalist id="node-names">
              {nodes.map((node) => (
                <option value={node} />
              ))}
            </datalist>
          </div>
          {!Object.keys(resourceErrors).length && <FieldErrors errors={Array.isArray(errors.resources) ? errors.resources : undefined} />}
        </Card>
      )}

      <div class="submit-bar">
        <span class="grid-size">{size === null ? "" : `Creates ${size} job${size === 1 ? "" : "s"}`}</span>
        <button type="submit" class="primary" disabled={!algorithm || submitting || invalid}>
          {submitting ? "Submitting…" : "Start experiment"}
        </button>
      </div>
    </form>
  );
}
