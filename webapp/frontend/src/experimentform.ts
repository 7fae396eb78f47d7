// The new-experiment form's pure helpers: server errors by field, uploaded code run again.

import { ApiError, flattenErrors } from "./api";
import type { Algorithm, ParamSpec } from "./types";

export type Errors = Record<string, unknown>;

export interface Resources {
  cpu: string;
  memory: string;
  gpu: string;
  node: string;
}

export function sub(errors: Errors, key: string): Errors {
  const value = errors[key];
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Errors) : {};
}

/** Uploaded code an experiment ran, as GET /api/experiments/<id>/ gives it: submitted again as is. */
export interface UploadedCode {
  artifact: number;
  entrypoint: string[];
  parameter_schema: Record<string, Omit<ParamSpec, "name">>;
}

export function codeAlgorithm(name: string, code: UploadedCode): Algorithm {
  return {
    name,
    title: `Uploaded code (artifact ${code.artifact})`,
    description: `Runs ${code.entrypoint.join(" ")} from the uploaded archive.`,
    language: "",
    image: "",
    dataset_input: "optional",
    resources: {},
    parameters: Object.entries(code.parameter_schema).map(([param, spec]) => ({ ...spec, name: param }) as ParamSpec),
    enabled: true,
  };
}

/** Each error of a 400 answer with the id of the input it is about, for the summary's links. */
export function errorLinks(errors: Errors): { href: string; text: string }[] {
  const links: { href: string; text: string }[] = [];
  for (const [key, value] of Object.entries(errors)) {
    if (value === undefined) continue;
    if ((key === "parameters" || key === "resources") && value && typeof value === "object" && !Array.isArray(value)) {
      for (const [name, inner] of Object.entries(value as Errors)) {
        const href = key === "parameters" ? `#param-${name}` : `#resources-${name}`;
        for (const message of flattenErrors(inner)) links.push({ href, text: `${name}: ${message}` });
      }
      continue;
    }
    for (const message of flattenErrors(value)) links.push({ href: `#field-${key}`, text: key === "detail" ? message : `${key}: ${message}` });
  }
  return links;
}

export function numberOr(text: string): unknown {
  const number = Number(text.trim());
  return text.trim() !== "" && Number.isFinite(number) ? number : text;
}


/** What a refused dataset upload says. */
export function flattenUpload(failure: ApiError): unknown {
  const fields = failure.fields;
  return fields.file ?? fields.detail ?? failure.message;
}
