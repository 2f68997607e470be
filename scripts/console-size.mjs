// Run by `npm run build:console` after Vite: prints the console's initial JavaScript (the scripts
// and module preloads index.html loads before anything renders) gzipped, and fails the build when
// it is over the budget of issue #12 (200 kB gzip).
//   node scripts/console-size.mjs [dist/console]
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const BUDGET_BYTES = 200 * 1024;
const dir = process.argv[2] ?? new URL("../dist/console", import.meta.url).pathname;
const html = readFileSync(join(dir, "index.html"), "utf8");
const refs = [...html.matchAll(/<(?:script|link)[^>]+(?:src|href)="\/console\/([^"]+\.js)"/g)].map(
  (m) => m[1],
);
if (refs.length === 0) {
  console.error("console-size: no script in dist/console/index.html");
  process.exit(1);
}
let total = 0;
for (const ref of refs) {
  const gz = gzipSync(readFileSync(join(dir, ref)), { level: 9 }).length;
  total += gz;
  console.log(`console-size: ${ref} ${(gz / 1024).toFixed(1)} kB gzip`);
}
console.log(
  `console-size: initial JS ${(total / 1024).toFixed(1)} kB gzip (budget ${BUDGET_BYTES / 1024} kB)`,
);
if (total > BUDGET_BYTES) {
  console.error("console-size: over budget");
  process.exit(1);
}
