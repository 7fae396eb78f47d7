// The REST client: same-origin fetch with the session cookie and Django's CSRF header.

import type { Page } from "./types";

export class ApiError extends Error {
  status: number;
  body: unknown;

  constructor(status: number, body: unknown) {
    super(describeError(body) || `the server answered ${status}`);
    this.status = status;
    this.body = body;
  }

  /** Field errors of a 400 answer, e.g. {"parameters": {"alpha": ["..."]}}. */
  get fields(): Record<string, unknown> {
    return this.body && typeof this.body === "object" && !Array.isArray(this.body)
      ? (this.body as Record<string, unknown>)
      : {};
  }
}

function describeError(body: unknown): string {
  if (typeof body === "string") return body.slice(0, 300);
  if (body && typeof body === "object") {
    const record = body as Record<string, unknown>;
    if (typeof record.detail === "string") return record.detail;
    const first = Object.entries(record)[0];
    if (first) return `${first[0]}: ${flattenErrors(first[1]).join("; ")}`;
  }
  return "";
}

/** Every message in a DRF error value (a string, a list, or nested objects). */
export function flattenErrors(value: unknown): string[] {
  if (value == null) return [];
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(flattenErrors);
  if (typeof value === "object") {
    return Object.entries(value as Record<string, unknown>).flatMap(([key, inner]) =>
      flattenErrors(inner).map((message) => `${key}: ${message}`),
    );
  }
  return [String(value)];
}

function cookie(name: string): string {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return "";
}

let signedOutHandler: (() => void) | null = null;

/** Called when the API says nobody is signed in (the session expired or was ended). */
export function onSignedOut(handler: () => void): void {
  signedOutHandler = handler;
}

export interface RequestOptions {
  method?: string;
  json?: unknown;
  form?: FormData;
  signal?: AbortSignal;
}

export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const sending = options.json !== undefined || options.form !== undefined;
  const method = options.method ?? (sending ? "POST" : "GET");
  const headers: Record<string, string> = { Accept: "application/json" };
  let body: BodyInit | undefined;
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.json);
  } else if (options.form) {
    body = options.form;
  }
  if (method !== "GET" && method !== "HEAD") headers["X-CSRFToken"] = cookie("csrftoken");
  const response = await fetch(path, {
    method,
    headers,
    body,
    credentials: "same-origin",
    signal: options.signal,
  });
  const text = await response.text();
  let data: unknown = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!response.ok) {
    const error = new ApiError(response.status, data);
    const detail = (data as { detail?: string } | null)?.detail ?? "";
    if (response.status === 401 || (response.status === 403 && /credentials/i.test(detail))) {
      signedOutHandler?.();
    }
    throw error;
  }
  return data as T;
}

/** Same-origin path and query of an absolute `next` link (behind a proxy the host may differ). */
function localPath(url: string): string {
  const parsed = new URL(url, location.href);
  return parsed.pathname + parsed.search;
}

/** Every item of a paginated list, following `next` links. */
export async function getAll<T>(path: string, signal?: AbortSignal): Promise<T[]> {
  const items: T[] = [];
  let next: string | null = path;
  while (next) {
    const page: Page<T> | T[] = await api<Page<T> | T[]>(next, { signal });
    if (Array.isArray(page)) return page;
    items.push(...page.results);
    next = page.next ? localPath(page.next) : null;
  }
  return items;
}

/** A list endpoint that may or may not paginate. */
export function results<T>(page: Page<T> | T[]): T[] {
  return Array.isArray(page) ? page : page.results;
}
