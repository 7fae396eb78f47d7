import { defineConfig } from "vite";

// Django serves the build: dist/ is a STATICFILES_DIRS entry, so assets live under /static/,
// and webapp/web.py answers index.html for / and every client-side route.
export default defineConfig(({ command }) => ({
  base: command === "build" ? "/static/" : "/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // cytoscape (job page only) is a chunk of its own, loaded when a graph is drawn.
    chunkSizeWarningLimit: 700,
  },
  server: {
    // `npm run dev` next to `make up`: the API, admin and websockets come from Django.
    proxy: {
      "/api": "http://127.0.0.1:8000",
      "/admin": "http://127.0.0.1:8000",
      "/static/admin": "http://127.0.0.1:8000",
      "/ws": { target: "ws://127.0.0.1:8000", ws: true },
    },
  },
}));
