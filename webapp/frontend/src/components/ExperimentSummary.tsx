// The experiment page's summary card: facts, progress by status, and the parameters held fixed.

import { formatDuration, formatTime, formatValue } from "../format";
import type { Dataset, Experiment } from "../types";
import { CountChips, CountsBar } from "./bits";

const STOP_REASONS: Record<string, string> = {
  max_jobs: "its budget of jobs is spent",
  max_failed: "too many jobs failed",
  goal: "the objective reached its goal",
  time_budget: "its time budget ran out",
  cancelled: "cancelled",
};

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
        {exp.strategy && exp.strategy !== "grid" && (
          <div>
            <dt>Search</dt>
            <dd data-strategy={exp.strategy}>
              {exp.strategy}, up to {exp.max_jobs} jobs, {exp.parallelism} at once{exp.pruner?.type ? `, ${exp.pruner.type} pruner` : ""}
            </dd>
          </div>
        )}
        {exp.stop_reason && (
          <div>
            <dt>Stopped</dt>
            <dd class="stop-reason" data-stop-reason={exp.stop_reason}>
              {STOP_REASONS[exp.stop_reason] ?? exp.stop_reason}
            </dd>
          </div>
        )}
      </dl>
      <div class="summary-progress">
        <CountsBar counts={exp.counts} total={Math.max(exp.job_count, exp.stop_reason ? 0 : (exp.max_jobs ?? 0))} />
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
