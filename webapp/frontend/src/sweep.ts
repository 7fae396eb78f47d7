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
    return { kind: "send", value: parseOne(spec, field.value), count: 1 };
  }
  if (field.mode === "list") {
    const items = field.list.split(",").filter((item) => item.trim() !== "");
    if (items.length === 0) return { kind: "invalid", message: "give values separated by commas" };
    return { kind: "send", value: items.map((item) => parseOne(spec, item)), count: items.length };
  }
  const [start, stop, step] = [field.start, field.stop, field.step].map((text) => parseOne(spec, text));
  const count =
    typeof start === "number" && typeof stop === "number" && typeof step === "number"
      ? rangeCount(start, stop, step)
      : null;
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
