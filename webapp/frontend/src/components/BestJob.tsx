// The experiment page's best-job summary: the best succeeded job by the chosen metric.

import { formatNumber, formatValue } from "../format";
import type { Job } from "../types";
import { Card } from "./bits";

export function BestJob({
  best,
  metric,
  maximize,
  scored,
  tied,
  swept,
  metricNames,
}: {
  best: Job | null;
  metric: string | null;
  maximize: boolean;
  scored: number;
  /** How many jobs share the best value (1: no tie). */
  tied: number;
  swept: string[];
  metricNames: string[];
}) {
  return (
    <Card title="Best job">
      {best && metric ? (
        <div class="best" data-best-job={best.id}>
          <p class="best-value">
            <span class="muted">{metric}</span> {formatNumber(best.metrics[metric])}
          </p>
          <p>
            <a href={`/jobs/${best.id}`}>job {best.id}</a> <span class="muted">({maximize ? "highest" : "lowest"} of {scored} with {metric})</span>
          </p>
          {tied > 1 && (
            <p class="tie" data-tied={tied}>
              Tied: {tied} jobs share this value; the lowest id is shown.
            </p>
          )}
          <table class="kv">
            {swept.map((name) => (
              <tr>
                <th>{name}</th>
                <td>{formatValue(best.parameters[name])}</td>
              </tr>
            ))}
            {metricNames
              .filter((name) => name !== metric)
              .map((name) => (
                <tr>
                  <th class="muted">{name}</th>
                  <td>{formatNumber(best.metrics[name])}</td>
                </tr>
              ))}
          </table>
        </div>
      ) : (
        <p class="muted">No succeeded job with a metric yet.</p>
      )}
    </Card>
  );
}
