// The new-experiment form's parameter fields: one value, a list, or a range, per the schema.

import type { ParamSpec } from "./types";

export type FieldMode = "value" | "list" | "range";

export interface FieldState {
  mode: FieldMode;
  value: string;
  list: string;
  start: string;
  stop: string;
  step: string;
  /** Values ticked for choice and bool parameters (one = fixed, several = swept). */
  picked: unknown[];
}

/** What a field sends: `omit` leaves the schema default; `count` is its number of values. */
export type FieldValue =
  | { kind: "omit"; count: 1 }
  | { kind: "send"; value: unknown; count: number | null }
  | { kind: "invalid"; message: string };

export function isPickable(spec: ParamSpec): boolean {
  return spec.type === "bool" || spec.type === "choice";
}

export function isNumeric(spec: ParamSpec): boolean {
  return spec.type === "int" || spec.type === "float";
}

export function pickableValues(spec: ParamSpec): unknown[] {
  return spec.type === "bool" ? [true, false] : (spec.values ?? []);
}

export function emptyField(spec: ParamSpec): FieldState {
  return {
    mode: "value",
    value: "",
    list: "",
    start: "",
    stop: "",
    step: "",
    picked: isPickable(spec) && spec.default !== undefined ? [spec.default] : [],
  };
}

/** A field showing a value already submitted (to run an experiment again). */
export function fieldFrom(spec: ParamSpec, submitted: unknown): FieldState {
  const field = emptyField(spec);
  if (submitted === undefined) return field;
  if (isPickable(spec)) {
    field.picked = Array.isArray(submitted) ? submitted : [submitted];
  } else if (Array.isArray(submitted)) {
    field.mode = "list";
    field.list = submitted.map(String).join(", ");
  } else if (submitted && typeof submitted === "object") {
    const range = submitted as Record<string, unknown>;
    field.mode = "range";
    field.start = String(range.start ?? "");
    field.stop = String(range.stop ?? "");
    field.step = String(range.step ?? "");
  } else {
    field.value = String(submitted);
  }
  return field;
}

/** A typed value from text; text that does not parse is sent as is, for the server to refuse. */
function parseOne(spec: ParamSpec, text: string): unknown {
  const trimmed = text.trim();
  if (isNumeric(spec)) {
    const number = Number(trimmed);
    return trimmed !== "" && Number.isFinite(number) ? number : trimmed;
  }
  return spec.type === "str" ? text : trimmed;
}

/** Every value of a numeric parameter that the server would refuse, named: [] when all fit. */
export function badValues(spec: ParamSpec, values: unknown[]): string[] {
  if (!isNumeric(spec)) return [];
  const problems: string[] = [];
  const notNumbers = values.filter((v) => typeof v !== "number").map((v) => `"${String(v)}"`);
  if (notNumbers.length) problems.push(`not a number: ${notNumbers.join(", ")}`);
  const numbers = values.filter((v): v is number => typeof v === "number");
  if (spec.type === "int") {
    const fractions = numbers.filter((v) => !Number.isInteger(v));
    if (fractions.length) problems.push(`not a whole number: ${fractions.join(", ")}`);
  }
  const low = spec.minimum ?? -Infinity;
  const high = spec.maximum ?? Infinity;
  const outside = numbers.filter((v) => v < low || v > high);
  if (outside.length) {
    problems.push(`outside ${spec.minimum ?? "−∞"} … ${spec.maximum ?? "∞"}: ${outside.join(", ")}`);
  }
  return problems;
}

export function rangeCount(start: number, stop: number, step: number): number | null {
  if (![start, stop, step].every(Number.isFinite) || step <= 0 || stop < start) return null;
  return Math.floor((stop - start) / step + 1e-9) + 1;
}

export function fieldValue(spec: ParamSpec, field: FieldState): FieldValue {
  if (isPickable(spec)) {
    if (field.picked.length === 0) return { kind: "invalid", message: "pick at least one value" };
    if (field.picked.length === 1) return { kind: "send", value: field.picked[0], count: 1 };
    return { kind: "send", value: [...field.picked], count: field.picked.length };
  }
  if (field.mode === "value") {
    if (field.value.trim() === "") return { kind: "omit", count: 1 };
    const value = parseOne(spec, field.value);
    const problems = badValues(spec, [value]);
    if (problems.length) return { kind: "invalid", message: problems.join("; ") };
    return { kind: "send", value, count: 1 };
  }
  if (field.mode === "list") {
    const items = field.list.split(",").filter((item) => item.trim() !== "");
    if (items.length === 0) return { kind: "invalid", message: "give values separated by commas" };
    const values = items.map((item) => parseOne(spec, item));
    const problems = badValues(spec, values);
    if (problems.length) return { kind: "invalid", message: problems.join("; ") };
    return { kind: "send", value: values, count: items.length };
  }
  const empty = ["start", "stop", "step"].filter((key) => field[key as "start"].trim() === "");
  if (empty.length) return { kind: "invalid", message: `give the range's ${empty.join(", ")}` };
  const [start, stop, step] = [field.start, field.stop, field.step].map((text) => parseOne(spec, text));
  const problems = badValues(spec, [start, stop]).map((problem) => `start/stop ${problem}`);
  if (typeof step !== "number") problems.push(`step is not a number: "${String(step)}"`);
  else if (step === 0) problems.push("step is 0: a range needs a step above 0");
  else if (step < 0) problems.push(`step ${step} is negative: a range needs a step above 0`);
  if (typeof start === "number" && typeof stop === "number" && stop < start) {
    problems.push(`stop ${stop} is below start ${start}`);
  }
  if (problems.length) return { kind: "invalid", message: problems.join("; ") };
  const count = rangeCount(start as number, stop as number, step as number);
  return { kind: "send", value: { start, stop, step }, count };
}

/** Jobs the form would create, or null when some field's count is unknown. */
export function gridSize(values: FieldValue[], repeats: number): number | null {
  let size = Math.max(1, Math.floor(repeats) || 1);
  for (const value of values) {
    if (value.kind === "invalid" || value.count === null) return null;
    size *= value.count;
  }
  return size;
}

export function describeSpec(spec: ParamSpec): string {
  const parts: string[] = [spec.type];
  if (spec.minimum != null || spec.maximum != null) {
    parts.push(`${spec.minimum ?? "−∞"} … ${spec.maximum ?? "∞"}`);
  }
  if (spec.values?.length) parts.push(spec.values.map(String).join(" | "));
  if (spec.default !== undefined) parts.push(`default ${String(spec.default)}`);
  return parts.join(" · ");
}
