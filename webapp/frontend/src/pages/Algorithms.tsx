// The algorithm catalog with parameter docs.

import { useEffect } from "preact/hooks";
import { api, results } from "../api";
import { ErrorBox, Loading } from "../components/bits";
import { formatValue } from "../format";
import { useLoad } from "../hooks";
import type { Algorithm, Page } from "../types";

export function AlgorithmsPage() {
  const { data, error } = useLoad((signal) => api<Algorithm[] | Page<Algorithm>>("/api/algorithms/", { signal }).then(results), []);

  useEffect(() => {
    if (data && location.hash) document.getElementById(`algorithm-${location.hash.slice(1)}`)?.scrollIntoView();
  }, [data]);

  if (error) return <ErrorBox error={error} />;
  if (!data) return <Loading />;
  return (
    <>
      <div class="page-head">
        <h1>Algorithms</h1>
      </div>
      {data.length === 0 && <p class="muted">The catalog is empty: run <code>manage.py sync_algorithms</code>.</p>}
      {data.map((algorithm) => (
        <section class="card algorithm" id={`algorithm-${algorithm.name}`} data-algorithm={algorithm.name}>
          <header class="card-head">
            <h2>
              {algorithm.title} <code class="muted">{algorithm.name}</code>
            </h2>
            <div class="card-actions">
              <a class="button primary" href={`/experiments/new?algorithm=${encodeURIComponent(algorithm.name)}`}>
                Run it
              </a>
            </div>
          </header>
          <p>{algorithm.description}</p>
          <p class="muted small">
            {algorithm.language} · dataset {algorithm.dataset_input} · resources{" "}
            {Object.entries(algorithm.resources ?? {})
              .map(([key, value]) => `${key} ${String(value)}`)
              .join(", ") || "default"}
            {algorithm.image && ` · image ${algorithm.image}`}
          </p>
          <table class="table params-doc">
            <thead>
              <tr>
                <th>Parameter</th>
                <th>Type</th>
                <th>Default</th>
                <th>Allowed</th>
                <th>Description</th>
              </tr>
            </thead>
            <tbody>
              {algorithm.parameters.map((spec) => (
                <tr>
                  <td>
                    <code>{spec.name}</code>
                  </td>
                  <td>{spec.type}</td>
                  <td>{formatValue(spec.default)}</td>
                  <td>
                    {spec.values?.length
                      ? spec.values.map(String).join(", ")
                      : spec.minimum != null || spec.maximum != null
                        ? `${spec.minimum ?? "−∞"} … ${spec.maximum ?? "∞"}`
                        : spec.type === "bool"
                          ? "true, false"
                          : "any"}
                  </td>
                  <td>{spec.description}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ))}
    </>
  );
}
