// One parameter of the new-experiment form: a value, a list or a range, or ticks for choices.

import { flattenErrors } from "../api";
import { FieldErrors } from "./bits";
import type { FieldMode, FieldState, FieldValue } from "../sweep";
import { describeSpec, isNumeric, isPickable, pickableValues } from "../sweep";
import type { ParamSpec } from "../types";

export function ParamField({
  spec,
  field,
  value,
  errors,
  onChange,
}: {
  spec: ParamSpec;
  field: FieldState;
  value: FieldValue;
  errors: unknown;
  onChange: (field: FieldState) => void;
}) {
  const set = (patch: Partial<FieldState>) => onChange({ ...field, ...patch });
  const id = `param-${spec.name}`;
  const count = value.kind === "send" ? value.count : value.kind === "omit" ? 1 : null;
  const modes: FieldMode[] = isNumeric(spec) ? ["value", "list", "range"] : ["value", "list"];
  const bad = value.kind === "invalid" || !!flattenErrors(errors).length;
  const described = bad ? `${id}-errors` : undefined;
  return (
    <div class={`param ${errors ? "has-error" : ""}`} data-param={spec.name}>
      <div class="param-head">
        {isPickable(spec) ? (
          <span class="param-name" id={`${id}-label`}>
            {spec.name}
          </span>
        ) : (
          <label for={id} class="param-name">
            {spec.name}
          </label>
        )}
        <span class="param-spec">{describeSpec(spec)}</span>
        <span class="spacer" />
        <span class="param-count" title="values in the grid">
          × {count ?? "?"}
        </span>
      </div>
      {spec.description && <p class="param-doc">{spec.description}</p>}
      {isPickable(spec) ? (
        <div class="picks" id={id} role="group" aria-labelledby={`${id}-label`} aria-describedby={described}>
          {pickableValues(spec).map((option) => {
            const checked = field.picked.some((p) => p === option);
            return (
              <label class="pick">
                <input
                  type="checkbox"
                  name={`${spec.name}:${String(option)}`}
                  checked={checked}
                  onChange={() =>
                    set({
                      picked: checked
                        ? field.picked.filter((p) => p !== option)
                        : pickableValues(spec).filter((v) => v === option || field.picked.includes(v)),
                    })
                  }
                />
                {String(option)}
              </label>
            );
          })}
          <span class="muted small">tick several to sweep</span>
        </div>
      ) : (
        <div class="param-input">
          <select aria-label={`${spec.name} mode`} name={`${spec.name}:mode`} value={field.mode} onChange={(e) => set({ mode: e.currentTarget.value as FieldMode })}>
            {modes.map((mode) => (
              <option value={mode}>{mode === "value" ? "one value" : mode}</option>
            ))}
          </select>
          {field.mode === "value" && (
            <input id={id} name={spec.name} aria-invalid={bad} aria-describedby={described} placeholder={spec.default !== undefined ? `default ${String(spec.default)}` : ""} value={field.value} onInput={(e) => set({ value: e.currentTarget.value })} />
          )}
          {field.mode === "list" && (
            <input id={id} name={`${spec.name}:list`} aria-invalid={bad} aria-describedby={described} placeholder="comma-separated, e.g. 1, 2, 5" value={field.list} onInput={(e) => set({ list: e.currentTarget.value })} />
          )}
          {field.mode === "range" && (
            <span class="range">
              <input name={`${spec.name}:start`} id={id} aria-invalid={bad} aria-describedby={described} aria-label={`${spec.name} start`} placeholder="start" value={field.start} onInput={(e) => set({ start: e.currentTarget.value })} />
              <input name={`${spec.name}:stop`} id={`${id}-stop`} aria-invalid={bad} aria-describedby={described} aria-label={`${spec.name} stop`} placeholder="stop (included)" value={field.stop} onInput={(e) => set({ stop: e.currentTarget.value })} />
              <input name={`${spec.name}:step`} id={`${id}-step`} aria-invalid={bad} aria-describedby={described} aria-label={`${spec.name} step`} placeholder="step" value={field.step} onInput={(e) => set({ step: e.currentTarget.value })} />
            </span>
          )}
        </div>
      )}
      <div id={`${id}-errors`}>
        {value.kind === "invalid" && <FieldErrors errors={value.message} />}
        <FieldErrors errors={errors} />
      </div>
    </div>
  );
}

