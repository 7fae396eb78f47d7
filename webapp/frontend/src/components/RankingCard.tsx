// The experiment page's parallel-coordinates card: the best jobs by the metric the page ranks by,
// with the metric and direction selects; ranges dragged on an axis filter the table.

import type { Job } from "../types";
import { Card } from "./bits";
import { ParallelCoordinates } from "./ParallelCoordinates";

export function RankingCard({
  metricNames,
  metric,
  order,
  onRank,
  jobs,
  swept,
  bestId,
  withMetric,
  onPick,
  onBrush,
}: {
  metricNames: string[];
  metric: string | null;
  order: "min" | "max";
  onRank: (patch: { rank?: string; order?: "min" | "max" }) => void;
  jobs: Job[];
  swept: string[];
  bestId: number | null;
  /** How many jobs reported the metric (the chart draws the best few hundred). */
  withMetric: number | null;
  onPick: (job: Job) => void;
  onBrush: (axis: { name: string; metric: boolean }, low: number, high: number) => void;
}) {
  return (
    <Card
      title="Parameters against a metric"
      actions={
        metricNames.length > 0 && (
          <>
            <select aria-label="metric" name="metric" value={metric ?? ""} onChange={(e) => onRank({ rank: e.currentTarget.value })}>
              {metricNames.map((name) => (
                <option value={name}>{name}</option>
              ))}
            </select>
            <select aria-label="direction" name="direction" value={order} onChange={(e) => onRank({ order: e.currentTarget.value as "min" | "max" })}>
              <option value="max">higher is better</option>
              <option value="min">lower is better</option>
            </select>
          </>
        )
      }
    >
      <div class="chart-scroll" tabIndex={0} role="region" aria-label="parallel coordinates chart">
        <ParallelCoordinates jobs={jobs} params={swept} metric={metric} maximize={order === "max"} bestId={bestId} onPick={onPick} onBrush={onBrush} />
      </div>
      {withMetric !== null && withMetric > jobs.length && (
        <p class="small">
          The best {jobs.length} of {withMetric} jobs with {metric}.
        </p>
      )}
    </Card>
  );
}
