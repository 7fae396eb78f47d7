// The experiment page's summary card: facts, progress by status, and the parameters held fixed.

import { formatDuration, formatTime, formatValue } from "../format";
import type { Dataset, Experiment, Job } from "../types";
import { CountChips, CountsBar } from "./bits";

export function ExperimentSummary({
  exp,
  dataset,
  username,
  duration,
  fixed,
  sample,
}: {
  exp: Experiment;
  dataset: Dataset | null;
  username: string | undefined;
  duration: number | null;
  fixed: string[];
  sample: Job | undefined;
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
      {fixed.length > 0 && (
        <p class="fixed-params">
          <span class="muted">Fixed:</span>{" "}
          {fixed.map((name) => (
            <code>
              {name}={formatValue(sample?.parameters[name])}
            </code>
          ))}
        </p>
      )}
    </div>
  );
}
