// Numbers behind the charts: round tick values, repeats aggregated as mean ± sd, and several
// jobs' step series on one x axis. Pure: no DOM, so `node --test` runs it (tests/unit).

/** Round tick values (1, 2 or 5 times a power of ten) covering [min, max]; about `count` of them. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (min === max) return [min];
  const raw = (max - min) / Math.max(1, count - 1);
  const power = 10 ** Math.floor(Math.log10(raw));
  // The nice step nearest the raw one, on a log scale.
  const step = [1, 2, 5, 10]
    .map((f) => f * power)
    .reduce((best, s) => (Math.abs(Math.log(s / raw)) < Math.abs(Math.log(best / raw)) ? s : best));
  const first = Math.ceil(min / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let value = first; value <= max + step * 1e-9; value += step) {
    // Rounded to the step's decimals, so 0.1 + 0.2 prints as 0.3.
    const decimals = Math.max(0, -Math.floor(Math.log10(step)));
    ticks.push(Number(value.toFixed(decimals)));
  }
  return ticks;
}

export interface Aggregate {
  key: string;
  parameters: Record<string, unknown>;
  n: number;
  mean: number;
  sd: number;
}

/**
 * Jobs with the same parameters (the repeats of one grid point) folded into one point: the
 * mean of `metric` and its sample standard deviation (0 for a single repeat).
 */
export function aggregateRepeats(
  jobs: { parameters: Record<string, unknown>; metrics: Record<string, number> }[],
  metric: string,
): Aggregate[] {
  const groups = new Map<string, { parameters: Record<string, unknown>; values: number[] }>();
  for (const job of jobs) {
    const value = job.metrics[metric];
    if (typeof value !== "number" || !Number.isFinite(value)) continue;
    const key = JSON.stringify(Object.entries(job.parameters).sort(([a], [b]) => a.localeCompare(b)));
    const group = groups.get(key) ?? { parameters: job.parameters, values: [] };
    group.values.push(value);
    groups.set(key, group);
  }
  return [...groups.entries()].map(([key, { parameters, values }]) => {
    const n = values.length;
    const mean = values.reduce((a, b) => a + b, 0) / n;
    const variance = n > 1 ? values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1) : 0;
    return { key, parameters, n, mean, sd: Math.sqrt(variance) };
  });
}

/** Several series of (step, value) on the union of their steps; a step a series lacks is null. */
export function alignSeries(series: { step: number; value: number }[][]): [number[], ...(number | null)[][]] {
  const steps = [...new Set(series.flatMap((points) => points.map((p) => p.step)))].sort((a, b) => a - b);
  const at = new Map(steps.map((step, i) => [step, i]));
  const columns = series.map((points) => {
    const column: (number | null)[] = steps.map(() => null);
    for (const point of points) column[at.get(point.step)!] = point.value;
    return column;
  });
  return [steps, ...columns];
}
