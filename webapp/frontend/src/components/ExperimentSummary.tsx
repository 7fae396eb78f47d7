// The experiment page's summary card: facts, progress by status, and the parameters held fixed.

import { formatDuration, formatTime, formatValue } from "../format";
import type { Dataset, Experiment } from "../types";
import { CountChips, CountsBar } from "./bits";

export function ExperimentSummary({
  exp,
  dataset,
  username,
  duration,
  fixed,
}: {
  exp: Experiment;
  dataset: Dataset | null;
  username: string | undefined;
  duration: number | null;
  /** Parameters every job shares, with their value. */
  fixed: Record<string, unknown>;
}) {
  return (
    <div class="summary card">
      <dl class="facts">
        <div>
          <dt>Algorithm</dt>
          <dd>
            <a href={`/algorithms#${exp.algorithm}`}>{exp.algorithm}</a>
          </dd>
        </div>
        <div>
          <dt>Dataset</dt>
          <dd>{exp.dataset ? (dataset ? `${dataset.name}${dataset.has_truth ? " (has truth)" : ""}` : `#${exp.dataset}`) : "none"}</dd>
        </div>
        {exp.owner && exp.owner !== username && (
          <div>
            <dt>Owner</dt>
            <dd>{exp.owner}</dd>
          </div>
        )}
        <div>
          <dt>Submitted</dt>
          <dd>{formatTime(exp.created_at)}</dd>
        </div>
        <div>
          <dt>Started</dt>
          <dd>{formatTime(exp.started_at)}</dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd>{formatDuration(duration)}</dd>
        </div>
        <div>
          <dt>Jobs</dt>
          <dd>
            {exp.job_count} ({exp.repeats} repeat{exp.repeats === 1 ? "" : "s"}, priority {exp.priority})
          </dd>
        </div>
      </dl>
      <div class="summary-progress">
        <CountsBar counts={exp.counts} total={exp.job_count} />
        <CountChips counts={exp.counts} />
      </div>
      {Object.keys(fixed).length > 0 && (
        <p class="fixed-params">
          <span class="muted">Fixed:</span>{" "}
          {Object.entries(fixed).map(([name, value]) => (
            <code>
              {name}={formatValue(value)}
            </code>
          ))}
        </p>
      )}
    </div>
  );
}
