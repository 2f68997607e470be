import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

/**
 * The operator console: built by `npm run build` (so `npm ci`'s prepare) into dist/console, served
 * by the app under /console (src/api/routes/console.ts). Preact through oxc's automatic JSX
 * runtime: no framework plugin needed. No CDN: every byte is in the bundle.
 */
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/console/",
  publicDir: false,
  build: {
    outDir: fileURLToPath(new URL("../dist/console", import.meta.url)),
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    // The HTML entry only: one hashed JS and one CSS file (the server caches them forever).
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
});
