// Cluster nodes with what they can run and what is asked of them (GET /api/nodes/).

import { useEffect, useState } from "preact/hooks";
import { api, ApiError } from "../api";
import { ErrorBox, Loading } from "../components/bits";
import { formatBytes, formatNumber } from "../format";

type Node = Record<string, unknown>;

const RESOURCES = ["cpu", "memory", "gpu"] as const;

/** Reads {allocatable: {cpu}, requested: {cpu}} as well as flat cpu_allocatable / allocatable_cpu. */
function amount(node: Node, kind: "allocatable" | "requested", resource: string): unknown {
  const nested = node[kind];
  if (nested && typeof nested === "object" && resource in (nested as Node)) return (nested as Node)[resource];
  const flat = node[`${resource}_${kind}`] ?? node[`${kind}_${resource}`];
  if (flat !== undefined) return flat;
  const group = node[resource];
  if (group && typeof group === "object") return (group as Node)[kind];
  return undefined;
}

const UNITS: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12, m: 1e-3 };

/** A Kubernetes quantity ("500m", "2Gi", 4) as a number. */
export function quantity(value: unknown): number | null {
  if (typeof value === "number") return value;
  if (typeof value !== "string") return null;
  const match = value.trim().match(/^([0-9.]+)([a-zA-Z]*)$/);
  if (!match) return null;
  const scale = match[2] ? UNITS[match[2]] : 1;
  return scale === undefined ? null : Number(match[1]) * scale;
}

/** Numbers as the API sends them: memory in bytes, cores and GPUs as counts. */
function show(resource: string, value: unknown): string {
  if (typeof value !== "number") return String(value ?? 0);
  return resource === "memory" ? formatBytes(value) : formatNumber(value);
}

function Usage({ resource, requested, allocatable }: { resource: string; requested: unknown; allocatable: unknown }) {
  const used = quantity(requested ?? 0);
  const total = quantity(allocatable);
  if (allocatable === undefined) return <span class="muted">—</span>;
  const share = used !== null && total ? Math.min(1, used / total) : 0;
  const text = `${show(resource, requested)} / ${show(resource, allocatable)}`;
  return (
    <span class="usage" title={`${text} requested`}>
      <span class="progress">
        <span style={{ width: `${Math.round(share * 100)}%` }} class={share > 0.9 ? "hot" : ""} />
      </span>
      <span class="small">{text}</span>
    </span>
  );
}

export function NodesPage() {
  const [nodes, setNodes] = useState<Node[] | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [missing, setMissing] = useState(false);

  useEffect(() => {
    let stopped = false;
    const load = () =>
      api<Node[] | { results: Node[] }>("/api/nodes/").then(
        (answer) => {
          if (stopped) return;
          setNodes(Array.isArray(answer) ? answer : answer.results);
          setError(null);
        },
        (failure) => {
          if (stopped) return;
          if (failure instanceof ApiError && failure.status === 404) setMissing(true);
          else setError(failure as Error);
        },
      );
    void load();
    const timer = window.setInterval(load, 10_000);
    return () => {
      stopped = true;
      window.clearInterval(timer);
    };
  }, []);

  return (
    <>
      <div class="page-head">
        <h1>Nodes</h1>
        <span class="muted small">refreshed every 10 s</span>
      </div>
      <ErrorBox error={error} />
      {missing ? (
        <p class="muted">This server does not list nodes.</p>
      ) : !nodes ? (
        <Loading />
      ) : nodes.length === 0 ? (
        <p class="muted">No nodes.</p>
      ) : (
        <div class="card flush">
          <table class="table" id="nodes">
            <thead>
              <tr>
                <th>Node</th>
                {RESOURCES.map((r) => (
                  <th>{r === "cpu" ? "CPU" : r === "gpu" ? "GPU" : "Memory"} requested / allocatable</th>
                ))}
                <th>Labels</th>
              </tr>
            </thead>
            <tbody>
              {nodes.map((node) => (
                <tr data-node={String(node.name)}>
                  <td>
                    <strong>{String(node.name ?? "?")}</strong>
                    {node.ready === false && <span class="reason">not ready</span>}
                  </td>
                  {RESOURCES.map((r) => (
                    <td>
                      <Usage resource={r} requested={amount(node, "requested", r)} allocatable={amount(node, "allocatable", r)} />
                    </td>
                  ))}
                  <td class="labels">
                    {Object.entries((node.labels as Record<string, string>) ?? {}).map(([key, value]) => (
                      <span class="chip">
                        {key}
                        {value ? `=${value}` : ""}
                      </span>
                    ))}
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
