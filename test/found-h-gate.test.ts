import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/config/index.js";

const MAIN = resolve(import.meta.dirname, "../dist/cli/main.js");
const CASES = resolve(import.meta.dirname, "cases");

/** The built CLI with only these variables (and PATH, HOME) set. */
function cli(env: Record<string, string>, args: string[]) {
  const home = mkdtempSync(join(tmpdir(), "cg-hgate-"));
  return spawnSync(process.execPath, [MAIN, ...args], {
    env: { PATH: process.env.PATH ?? "", HOME: home, CREDITGATE_LOG_FORMAT: "pretty", ...env },
    encoding: "utf8",
    timeout: 60_000,
  });
}

/** A TCP port free right now on 127.0.0.1. */
async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => ok(typeof a === "object" && a ? a.port : 0));
    });
  });
}

/** A case's `env` file as variables. */
function caseEnv(name: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(join(CASES, name, "env"), "utf8").split("\n")) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m?.[1]) out[m[1]] = m[2] ?? "";
  }
  return out;
}

describe("found by t-user (2026-12-04), fixed by h-gate: operator configuration", () => {
  it("case public-base-url-follows-port: an unset PUBLIC_BASE_URL follows HOST and PORT", () => {
    expect(loadConfig(caseEnv("public-base-url-follows-port")).http.publicBaseUrl).toBe(
      "http://127.0.0.1:9000",
    );
    expect(loadConfig({ HOST: "0.0.0.0", PORT: "9000" }).http.publicBaseUrl).toBe("http://127.0.0.1:9000");
    expect(loadConfig({ HOST: "::", PORT: "9000" }).http.publicBaseUrl).toBe("http://127.0.0.1:9000");
    expect(loadConfig({ HOST: "::1", PORT: "9000" }).http.publicBaseUrl).toBe("http://[::1]:9000");
    expect(loadConfig({ HOST: "bot.lan", PORT: "9000" }).http.publicBaseUrl).toBe("http://bot.lan:9000");
    expect(loadConfig({}).http.publicBaseUrl).toBe("http://127.0.0.1:8787");
    expect(loadConfig({ PORT: "9000", PUBLIC_BASE_URL: "https://pay.example.com/" }).http.publicBaseUrl).toBe(
      "https://pay.example.com",
    );
  });

  it("case public-base-url-follows-port: `serve` on another PORT names that port as its public base URL", async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), "cg-hgate-db-"));
    const child = spawn(process.execPath, [MAIN, "--db", join(dir, "cg.sqlite"), "serve"], {
      env: { PATH: process.env.PATH ?? "", HOME: dir, CREDITGATE_LOG_LEVEL: "silent", PORT: String(port) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      const line = await new Promise<string>((ok, fail) => {
        let out = "";
        const t = setTimeout(() => fail(new Error(`no listening line: ${out}`)), 30_000);
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          if (out.includes("\n")) {
            clearTimeout(t);
            ok(out);
          }
        });
        child.once("exit", (code) => fail(new Error(`serve exited ${code}: ${out}`)));
      });
      expect(line).toContain(`(public base URL http://127.0.0.1:${port})`);
    } finally {
      child.kill("SIGKILL");
    }
  }, 60_000);

  it("case markup-percentage-or-under-cost: a markup under 1 or above 2 is billed as set, with a warning", () => {
    const state = join(CASES, "markup-percentage-or-under-cost", "state");
    const run = (markup: string) => {
      const db = join(mkdtempSync(join(tmpdir(), "cg-hgate-db-")), "cg.sqlite");
      const m = cli({ CREDITGATE_MARKUP: markup }, ["--db", db, "--state-dir", state, "meter", "--once"]);
      expect(m.status, m.stderr).toBe(0);
      const b = cli({}, ["--db", db, "--json", "balance", "telegram:5550721"]);
      return { stderr: m.stderr, balance: JSON.parse(b.stdout).balanceMicroCredits as number };
    };
    const twenty = run("20");
    expect(twenty.balance).toBe(-2_262_000);
    expect(twenty.stderr).toContain(
      "CREDITGATE_MARKUP=20 charges 20× each call's cost; it is a multiplier, not a percentage: for a 20% margin set CREDITGATE_MARKUP=1.2",
    );
    const under = run("0.8");
    expect(under.balance).toBe(-90_480);
    expect(under.stderr).toContain(
      "CREDITGATE_MARKUP=0.8 is under 1: every call is charged 20% less than it costs",
    );
    const fair = run("1.25");
    expect(fair.balance).toBe(-141_375);
    expect(fair.stderr).not.toContain("CREDITGATE_MARKUP");
    // the long-running processes log config.warnings at startup
    expect(loadConfig({ CREDITGATE_MARKUP: "20" }).warnings).toHaveLength(1);
    expect(loadConfig({ CREDITGATE_MARKUP: "0.5" }).warnings[0]).toMatch(
      /under 1: every call is charged 50% less/,
    );
    for (const ok of ["1", "1.0", "1.25", "2"])
      expect(loadConfig({ CREDITGATE_MARKUP: ok }).warnings).toEqual([]);
  }, 120_000);
});
