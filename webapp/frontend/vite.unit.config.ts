// Builds tests/unit/*.test.ts into build/unit/*.test.mjs for `node --test` (npm test): the
// web app's pure logic (sweep expansion, live-update merge, CSV) tested without a browser.
import { readdirSync } from "node:fs";
import { defineConfig } from "vite";

const tests = readdirSync("tests/unit").filter((name) => name.endsWith(".test.ts"));

export default defineConfig({
  logLevel: "warn",
  build: {
    ssr: true,
    outDir: "build/unit",
    emptyOutDir: true,
    target: "node20",
    rollupOptions: {
      input: Object.fromEntries(tests.map((name) => [name.replace(/\.ts$/, ""), `tests/unit/${name}`])),
      output: { entryFileNames: "[name].mjs", format: "es" },
    },
  },
});
