// What the user's finished attempts used, per month, newest first.

import { api } from "../api";
import { ErrorBox, Loading } from "../components/bits";
import { formatDuration, formatNumber } from "../format";
import { useLoad } from "../hooks";
import type { UsageMonth } from "../types";

function monthName(month: string): string {
  const [year, number] = month.split("-").map(Number);
  if (!year || !number) return month;
  return new Date(year, number - 1, 1).toLocaleDateString(undefined, { year: "numeric", month: "long" });
}

function hours(value: number): string {
  return String(Number(value.toFixed(value >= 10 ? 1 : 4)));
}

export function UsagePage() {
  const { data, error } = useLoad((signal) => api<UsageMonth[]>("/api/usage/", { signal }), []);
  const months = data ? [...data].sort((a, b) => b.month.localeCompare(a.month)) : undefined;

  return (
    <>
      <div class="page-head">
        <h1>Usage</h1>
      </div>
      <p class="muted">
        Every attempt that ran is counted once when it ends: its run time times the cores, GPUs and memory its experiment asked for. Monthly budgets, when an
        operator set them, count the same way.
      </p>
      <ErrorBox error={error} />
      {!months ? (
        !error && <Loading />
      ) : months.length === 0 ? (
        <div class="card empty">
          <p>Nothing used yet: usage appears here once a job's attempt has finished.</p>
        </div>
      ) : (
        <div class="card flush">
          <table class="table" id="usage">
            <thead>
              <tr>
                <th>Month</th>
                <th class="num">Attempts</th>
                <th class="num">Run time</th>
                <th class="num">CPU-hours</th>
                <th class="num">GPU-hours</th>
                <th class="num">Memory GiB-hours</th>
              </tr>
            </thead>
            <tbody>
              {months.map((m) => (
                <tr data-month={m.month}>
                  <td title={m.month}>{monthName(m.month)}</td>
                  <td class="num" data-field="attempts">
                    {m.attempts}
                  </td>
                  <td class="num" data-field="seconds">
                    {formatDuration(m.seconds)}
                  </td>
                  <td class="num" data-field="cpu_hours" title={`${formatNumber(m.cpu_seconds)} CPU-seconds`}>
                    {hours(m.cpu_hours)}
                  </td>
                  <td class="num" data-field="gpu_hours" title={`${formatNumber(m.gpu_seconds)} GPU-seconds`}>
                    {hours(m.gpu_hours)}
                  </td>
                  <td class="num" data-field="memory_gb_hours" title={`${formatNumber(m.memory_gb_seconds)} GiB-seconds`}>
                    {hours(m.memory_gb_hours)}
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
