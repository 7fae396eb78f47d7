// A small history router: pages are chosen from location.pathname.

import { useEffect, useState } from "preact/hooks";

const listeners = new Set<() => void>();

function notify(): void {
  for (const listener of listeners) listener();
}

window.addEventListener("popstate", notify);

export function navigate(to: string, options: { replace?: boolean; keepScroll?: boolean } = {}): void {
  if (to === location.pathname + location.search) return;
  if (options.replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  if (!options.keepScroll) window.scrollTo(0, 0);
  notify();
}

/** The current path and query; re-renders the caller when they change. */
export function useLocation(): string {
  const [where, setWhere] = useState(location.pathname + location.search);
  useEffect(() => {
    const listener = () => setWhere(location.pathname + location.search);
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  }, []);
  return where;
}

export function queryParam(name: string): string | null {
  return new URLSearchParams(location.search).get(name);
}

const SERVER_PATHS = /^\/(api|admin|accounts|static|ws)(\/|$)|^\/healthz$/;

/** Turn clicks on same-origin links into client-side navigation. */
export function interceptLinks(): void {
  document.addEventListener("click", (event) => {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const anchor = (event.target as Element | null)?.closest?.("a");
    if (!anchor || !anchor.href || anchor.target || anchor.hasAttribute("download")) return;
    const url = new URL(anchor.href);
    if (url.origin !== location.origin || SERVER_PATHS.test(url.pathname)) return;
    event.preventDefault();
    navigate(url.pathname + url.search);
  });
}
