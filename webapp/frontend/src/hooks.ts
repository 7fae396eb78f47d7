import { useCallback, useEffect, useRef, useState } from "preact/hooks";

/** The current time, re-read every `ms` while `active`. */
export function useNow(active: boolean, ms = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!active) return;
    const timer = window.setInterval(() => setNow(Date.now()), ms);
    return () => window.clearInterval(timer);
  }, [active, ms]);
  return active ? now : Date.now();
}

/**
 * A re-render requested any number of times runs at most once per animation frame, and at
 * most once per `minMs` (live updates can come faster than a table is worth redrawing).
 */
export function useFrameRender(minMs = 0): () => void {
  const [, setTick] = useState(0);
  const pending = useRef(false);
  const last = useRef(0);
  useEffect(() => () => void (pending.current = false), []);
  return useCallback(() => {
    if (pending.current) return;
    pending.current = true;
    const frame = () =>
      requestAnimationFrame(() => {
        pending.current = false;
        last.current = performance.now();
        setTick((tick) => tick + 1);
      });
    const wait = last.current + minMs - performance.now();
    if (wait > 0) window.setTimeout(frame, wait);
    else frame();
  }, [minMs]);
}

/** Run `load` now and whenever `deps` change; exposes data, error and a reload. */
export function useLoad<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: unknown[],
): { data: T | undefined; error: Error | null; reload: () => void } {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<Error | null>(null);
  const [version, setVersion] = useState(0);
  useEffect(() => {
    const controller = new AbortController();
    load(controller.signal).then(
      (value) => {
        setData(value);
        setError(null);
      },
      (failure: Error) => {
        if (!controller.signal.aborted) setError(failure);
      },
    );
    return () => controller.abort();
  }, [...deps, version]);
  return { data, error, reload: () => setVersion((v) => v + 1) };
}

/** Coalesce calls: `fn` runs at most once per `ms`, always with the latest call honoured. */
export function throttle(fn: () => void, ms: number): () => void {
  let timer: number | undefined;
  let last = 0;
  return () => {
    if (timer !== undefined) return;
    const wait = Math.max(0, last + ms - Date.now());
    timer = window.setTimeout(() => {
      timer = undefined;
      last = Date.now();
      fn();
    }, wait);
  };
}
