#!/usr/bin/env node
// Type-checks the plugin against the real openclaw plugin-sdk declarations.
// Uses the openclaw install of the e2e cache (installing it if needed, see openclaw-e2e.mjs):
// plugin/node_modules/openclaw is a symlink to it (git-ignored), so tsc resolves
// `openclaw/plugin-sdk/*` and the package's own type dependencies from the cache.
// checkRealTypes() resolves when tsc passes and throws an Error carrying tsc's diagnostics.
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, rmSync, symlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureOpenClaw } from "./openclaw-cache.mjs";

const pluginDir = join(dirname(fileURLToPath(import.meta.url)), "..");
export async function checkRealTypes({ log = console.log } = {}) {
  const { openclawPkgDir } = await ensureOpenClaw({ log });
  const link = join(pluginDir, "node_modules", "openclaw");
  mkdirSync(dirname(link), { recursive: true });
  if (existsSync(link) || isLink(link)) {
    if (!isLink(link)) throw new Error(`${link} exists and is not a symlink; remove it`);
    rmSync(link);
  }
  symlinkSync(openclawPkgDir, link, "dir");
  const t0 = Date.now();
  try {
    execFileSync(
      process.execPath,
      [join(pluginDir, "node_modules/typescript/bin/tsc"), "-p", join(pluginDir, "tsconfig.real.json")],
      { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
    );
  } catch (err) {
    // tsc prints its diagnostics on stdout.
    throw new Error(
      `tsc -p tsconfig.real.json failed (exit ${err.status}):\n${`${err.stdout ?? ""}${err.stderr ?? ""}`.trim()}`,
    );
  } finally {
    rmSync(link);
  }
  log(`real-type conformance: OK (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}
function isLink(p) {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}
if (import.meta.url === `file://${process.argv[1]}`) {
  checkRealTypes().catch((e) => {
    console.error(e.message ?? e);
    process.exit(1);
  });
}
