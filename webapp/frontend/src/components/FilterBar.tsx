// Conditions on parameters and metrics (`?metric=shd__lt:5`, `?param=alpha__eq:0.05`), applied
// by the server: add one from the form, remove one from its chip.

import { useState } from "preact/hooks";
import type { Condition, Operator } from "../jobview";
import { conditionText, OPERATORS } from "../jobview";

const SYMBOL: Record<Operator, string> = { lt: "<", lte: "≤", gt: ">", gte: "≥", eq: "=" };

export function FilterBar({
  conditions,
  parameters,
  metrics,
  onChange,
}: {
  conditions: Condition[];
  parameters: string[];
  metrics: string[];
  onChange: (conditions: Condition[]) => void;
}) {
  const fields = [...parameters.map((name) => `param:${name}`), ...metrics.map((name) => `metric:${name}`)];
  const [field, setField] = useState("");
  const [op, setOp] = useState<Operator>("lt");
  const [value, setValue] = useState("");
  const [error, setError] = useState("");
  const chosen = field || fields[0] || "";
  if (!fields.length && !conditions.length) return null;

  const add = (event: Event) => {
    event.preventDefault();
    const [kind, ...rest] = chosen.split(":");
    const name = rest.join(":");
    const text = value.trim();
    const numeric = text !== "" && Number.isFinite(Number(text));
    if (!name) return;
    if (!numeric && (kind === "metric" || op !== "eq")) {
      setError(`${name} ${SYMBOL[op]} needs a number, not "${text}"`);
      return;
    }
    setError("");
    setValue("");
    onChange([...conditions, { kind: kind as Condition["kind"], name, op, value: text }]);
  };

  return (
    <div class="filter-bar">
      <form class="filter-form" onSubmit={add} aria-label="filter jobs">
        <select aria-label="filter on" name="filter-field" value={chosen} onChange={(e) => setField(e.currentTarget.value)}>
          {parameters.length > 0 && (
            <optgroup label="parameters">
              {parameters.map((name) => (
                <option value={`param:${name}`}>{name}</option>
              ))}
            </optgroup>
          )}
          {metrics.length > 0 && (
            <optgroup label="metrics">
              {metrics.map((name) => (
                <option value={`metric:${name}`}>{name}</option>
              ))}
            </optgroup>
          )}
        </select>
        <select aria-label="comparison" name="filter-op" value={op} onChange={(e) => setOp(e.currentTarget.value as Operator)}>
          {OPERATORS.map((o) => (
            <option value={o}>{SYMBOL[o]}</option>
          ))}
        </select>
        <input
          aria-label="value"
          name="filter-value"
          value={value}
          size={8}
          aria-invalid={!!error}
          aria-describedby={error ? "filter-error" : undefined}
          onInput={(e) => setValue(e.currentTarget.value)}
        />
        <button type="submit">Filter</button>
        {error && (
          <span class="field-error" id="filter-error" role="alert">
            {error}
          </span>
        )}
      </form>
      {conditions.length > 0 && (
        <ul class="filter-chips" aria-label="active filters">
          {conditions.map((condition, i) => (
            <li class="chip" data-condition={`${condition.kind}=${conditionText(condition)}`}>
              {condition.name} {SYMBOL[condition.op]} {condition.value}
              <button
                type="button"
                class="small"
                aria-label={`remove filter ${condition.name} ${SYMBOL[condition.op]} ${condition.value}`}
                onClick={() => onChange(conditions.filter((_, j) => j !== i))}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
