// Shapes of the REST API (see webapp/api/serializers.py) and of the websocket messages.

export type JobStatus =
  | "waiting"
  | "dispatching"
  | "pending"
  | "running"
  | "succeeded"
  | "failed"
  | "cancelling"
  | "cancelled"
  | "pruned";

export const JOB_STATUSES: JobStatus[] = [
  "waiting",
  "dispatching",
  "pending",
  "running",
  "cancelling",
  "succeeded",
  "failed",
  "cancelled",
  "pruned",
];

export const FINAL_STATUSES = new Set<string>(["succeeded", "failed", "cancelled", "pruned"]);
export const UNFINISHED_EXPERIMENT = new Set<string>(["waiting", "running", "cancelling"]);

export type ParamType = "int" | "float" | "str" | "bool" | "choice";

export interface ParamSpec {
  name: string;
  type: ParamType;
  default?: unknown;
  minimum?: number | null;
  maximum?: number | null;
  values?: unknown[];
  description?: string;
}

export interface Algorithm {
  name: string;
  title: string;
  description: string;
  language: string;
  image: string;
  dataset_input: "required" | "optional" | "none";
  resources: Record<string, unknown>;
  parameters: ParamSpec[];
  enabled: boolean;
}

export interface Dataset {
  id: number;
  name: string;
  sha256: string;
  size: number;
  columns: string[];
  rows: number;
  has_truth: boolean;
  created_at: string;
  download_url: string;
}

export interface Experiment {
  id: number;
  name: string;
  algorithm: string;
  dataset: number | null;
  parameters: Record<string, unknown>;
  repeats: number;
  priority: number;
  resources: Record<string, unknown>;
  max_attempts: number;
  timeout: number | null;
  objective?: string;
  objective_order?: string;
  job_count: number;
  created_at: string;
  counts: Record<string, number>;
  status: string;
  progress: number;
  started_at?: string | null;
  finished_at?: string | null;
  owner?: string | null;
  shared_with?: string[];
  notes?: string;
  tags?: string[];
  archived?: boolean;
  archived_at?: string | null;
  strategy?: string;
  max_jobs?: number | null;
  parallelism?: number | null;
  max_failed?: number | null;
  goal?: number | null;
  max_seconds?: number | null;
  pruner?: { type?: string; metric?: string } | null;
  objectives?: { name: string; order: string }[];
  stop_reason?: string;
  stopped_at?: string | null;
}

/** GET /api/experiments/<id>/study/ (docs/search.md). */
export interface StudyTrial {
  number: number;
  job: number;
  state: "complete" | "fail" | "pruned" | "running";
  params: Record<string, unknown>;
  values: number[] | null;
  best: number[] | null;
}

export interface Study {
  strategy: string;
  objectives: { name: string; direction: string }[];
  parameters: string[];
  trials: StudyTrial[];
  importance: Record<string, number>;
  pareto_front: number[];
}

export interface Job {
  id: number;
  experiment: number;
  index: number;
  repeat: number;
  parameters: Record<string, unknown>;
  status: JobStatus;
  attempt: number;
  max_attempts: number;
  progress: number | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  runtime: number | null;
  failure_reason: string;
  error: string;
  exit_code: number | null;
  metrics: Record<string, number>;
}

export interface OutputFile {
  name: string;
  attempt: number;
  size: number;
  created_at: string;
  url: string;
}

export interface MetricPoint {
  name: string;
  value: number;
  step: number | null;
  time: string;
  attempt?: number;
}

export interface GraphEdge {
  source: string;
  target: string;
  type?: "directed" | "undirected" | "bidirected";
  weight?: number | null;
}

export interface Graph {
  nodes: (string | number)[];
  edges: GraphEdge[];
}

export interface Page<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}

export interface SessionUser {
  authenticated: boolean;
  id?: number;
  username?: string;
  is_staff?: boolean;
}

export interface ApiToken {
  id: number;
  name: string;
  prefix: string;
  created_at: string;
  last_used_at: string | null;
  /** null: it never expires. */
  expires_at: string | null;
  key?: string; // only in the answer that created it
}

export interface Me {
  id: number;
  username: string;
  email: string;
  is_staff: boolean;
  email_notifications: boolean;
}

export interface UsageMonth {
  user: string;
  month: string; // YYYY-MM
  attempts: number;
  seconds: number;
  cpu_seconds: number;
  gpu_seconds: number;
  memory_gb_seconds: number;
  cpu_hours: number;
  gpu_hours: number;
  memory_gb_hours: number;
}

export interface AuthProvider {
  id: string;
  name: string;
  login_url: string;
}

export interface AuthProviders {
  providers: AuthProvider[];
  signup: string;
  signup_url: string;
  login_url: string;
}

// Websocket messages: {"type", "data"}.
export interface JobUpdated {
  id: number;
  experiment: number;
  status: JobStatus;
  attempt: number;
  progress: number | null;
  failure_reason: string;
  started_at: string | null;
  finished_at: string | null;
  metrics: Record<string, number> | null;
}

export interface ExperimentUpdated {
  id: number;
  counts: Record<string, number>;
  status: string;
  progress: number;
  job_count: number;
}

export interface JobLog {
  job: number;
  experiment: number;
  attempt: number;
  lines: string[];
  dropped?: number;
}

export interface JobMetric {
  job: number;
  experiment: number;
  attempt: number;
  points: MetricPoint[];
}

export type LiveMessage =
  | { type: "job.updated"; data: JobUpdated }
  | { type: "experiment.updated"; data: ExperimentUpdated }
  | { type: "job.log"; data: JobLog }
  | { type: "job.metric"; data: JobMetric }
  | { type: "pipeline.updated"; data: { id: number; status: string } };

/** GET /api/experiments/<id>/columns/ */
export interface ExperimentColumns {
  parameters: string[];
  fixed: Record<string, unknown>;
  metrics: string[];
  objective: string | null;
  objective_order: "min" | "max" | null;
}

/** A ranked job of GET /api/experiments/<id>/summary/ */
export interface RankedJob {
  id: number;
  status: JobStatus;
  attempt: number;
  parameters: Record<string, unknown>;
  metrics: Record<string, number>;
  runtime: number | null;
}

export interface ExperimentRanking {
  metric: string;
  order: "min" | "max";
  counts: Record<string, number>;
  with_metric: number;
  best: RankedJob | null;
  jobs: RankedJob[];
}

export interface Scores {
  precision: number;
  recall: number;
  f1: number;
  true_positives: number;
  false_positives: number;
  false_negatives: number;
}

/** GET /api/jobs/<id>/compare/?with=truth|<job id> */
export interface GraphComparison {
  job: number;
  with: number | "truth";
  shd: number;
  edges: Scores;
  orientations: Scores;
}

export interface ScheduleFiring {
  slot: string;
  fired_at: string;
  experiment: number | null;
  pipeline: number | null;
  skipped: string;
}

/** A recurring run (GET /api/schedules/). */
export interface Schedule {
  id: number;
  experiment: number | null;
  pipeline: number | null;
  cron: string | null;
  every_seconds: number | null;
  enabled: boolean;
  newest_datasets: boolean;
  created_at: string;
  last_run_at: string | null;
  total_run_count: number;
  next_run_at: string | null;
  recent_firings: ScheduleFiring[];
}

/** One experiment a pipeline stage submitted (GET /api/pipelines/<id>/). */
export interface StageExperiment {
  id: number;
  name: string;
  status: string;
  dataset: number | null;
  dataset_name: string;
  counts: Record<string, number>;
}

export interface CompareRow {
  stage: string;
  algorithm: string;
  dataset: { id: number | null; name: string };
  experiment: number;
  job: number;
  parameters: Record<string, unknown>;
  shd?: number;
  precision?: number;
  recall?: number;
  f1?: number;
  orientation_precision?: number;
  orientation_recall?: number;
  orientation_f1?: number;
  problem: string;
}

export interface PipelineStage {
  name: string;
  kind: "experiment" | "compare";
  status: string;
  algorithm: string | null;
  dataset: number | null;
  needs: string[];
  inputs: Record<string, { stage: string; file?: string }>;
  on_failure: "stop" | "continue";
  error: string;
  started_at: string | null;
  finished_at: string | null;
  previous_experiments: number[];
  experiments?: StageExperiment[];
  result?: { columns: string[]; rows: CompareRow[]; truncated: boolean } | null;
}

/** GET /api/pipelines/ and /api/pipelines/<id>/ */
export interface Pipeline {
  id: number;
  name: string;
  status: string;
  owner: string;
  created_at: string;
  finished_at: string | null;
  stages: PipelineStage[];
}
