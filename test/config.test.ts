import { readFileSync } from "node:fs";
import { homedir, userInfo } from "node:os";
import { resolve } from "node:path";
import { parseEnv } from "node:util";
import { describe, expect, it } from "vitest";
import { envSchema, loadConfig } from "../src/config/index.js";

const EXAMPLE = readFileSync(resolve(import.meta.dirname, "../.env.example"), "utf8");

describe("configuration", () => {
  it("documents every variable of the schema in .env.example, and nothing else", () => {
    const documented = new Set([...EXAMPLE.matchAll(/^#?\s?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]));
    expect([...documented].sort()).toEqual(Object.keys(envSchema.shape).sort());
  });

  it("loads .env.example as it is", () => {
    const c = loadConfig(parseEnv(EXAMPLE));
    expect(c.dbPath).toBe("./data/creditgate.sqlite");
    expect(c.pricing.mode).toBe("auto");
    expect(c.payments.stripe).toBeNull();
  });

  it("reports every problem at once, each with its variable's name", () => {
    let message = "";
    try {
      loadConfig({
        CREDITGATE_COST_MODE: "cheap",
        CREDITGATE_MARKUP: "1,5",
        PORT: "http",
        CREDITGATE_FALLBACK_PRICE: "1,2",
        STRIPE_WEBHOOK_SECRET: "nope",
      });
    } catch (err) {
      message = (err as Error).message;
    }
    for (const name of [
      "CREDITGATE_COST_MODE",
      "CREDITGATE_MARKUP",
      "PORT",
      "CREDITGATE_FALLBACK_PRICE",
      "STRIPE_WEBHOOK_SECRET",
    ]) {
      expect(message).toContain(name);
    }
  });

  it("STRIPE_WEBHOOK_SECRET: the bare prefix whsec_ (a template left unfilled) is no secret, alone or in a list", () => {
    for (const v of ["whsec_", "whsec_abc,whsec_"]) {
      expect(() => loadConfig({ STRIPE_WEBHOOK_SECRET: v }), v).toThrow(/STRIPE_WEBHOOK_SECRET/);
    }
    expect(() => loadConfig({ STRIPE_WEBHOOK_SECRET: "whsec_abc, whsec_def" })).not.toThrow();
  });

  it("treats empty strings as unset", () => {
    const c = loadConfig({ CREDITGATE_DB: "", CREDITGATE_STATE_DIRS: "" });
    expect(c.dbPath).toBe("./data/creditgate.sqlite");
    expect(c.sources.explicitStateDirs).toBeNull();
  });

  it("CREDITGATE_HEADROOM: p95 by default, off, 0 (= off), fixed credits; anything else is refused", () => {
    expect(loadConfig({}).worker.headroom).toEqual({ mode: "p95" });
    expect(loadConfig({ CREDITGATE_HEADROOM: "OFF" }).worker.headroom).toEqual({ mode: "off" });
    expect(loadConfig({ CREDITGATE_HEADROOM: "0" }).worker.headroom).toEqual({ mode: "off" });
    expect(loadConfig({ CREDITGATE_HEADROOM: "0.05" }).worker.headroom).toEqual({
      mode: "fixed",
      microCredits: 50_000,
    });
    for (const bad of ["p50", "-1", "0.0000001", "1,5"]) {
      expect(() => loadConfig({ CREDITGATE_HEADROOM: bad }), bad).toThrow(/CREDITGATE_HEADROOM/);
    }
  });

  it("an unparsable provider base URL is reported with every other problem, not as a crash", () => {
    let message = "";
    try {
      loadConfig({
        CREDITGATE_OPENAI_BASE_URL: "notaurl",
        CREDITGATE_DEEPSEEK_BASE_URL: "http://x/?a=1",
        CREDITGATE_PROVIDERS_POLL_MS: "10",
      });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).not.toMatch(/^Invalid URL/);
    expect(message).toContain("CREDITGATE_OPENAI_BASE_URL");
    expect(message).toContain("CREDITGATE_DEEPSEEK_BASE_URL");
    expect(message).toContain("CREDITGATE_PROVIDERS_POLL_MS");
  });

  it("splits comma lists", () => {
    const c = loadConfig({ CREDITGATE_STATE_DIRS: "/a, /b,,", CREDITGATE_AGENTS: "main" });
    expect(c.sources.explicitStateDirs).toEqual(["/a", "/b"]);
    expect(c.sources.agents).toEqual(["main"]);
  });
});

describe("OpenClaw's home and state dir variables, read as OpenClaw reads them", () => {
  it("a literal ~ in OPENCLAW_HOME is HOME (a .env file or a systemd unit expands nothing); blanks are trimmed", () => {
    const c = loadConfig({ HOME: "/home/bot", OPENCLAW_HOME: "  ~/oc-home " });
    expect(c.sources.openclawHome).toBe("/home/bot/oc-home");
    expect(loadConfig({ HOME: "/home/bot", OPENCLAW_HOME: "~" }).sources.openclawHome).toBe("/home/bot");
    // only `~` alone or before a separator: `~bot` is a name, left alone (OpenClaw's expandHomePrefix)
    expect(loadConfig({ HOME: "/home/bot", OPENCLAW_HOME: "~bot/x" }).sources.openclawHome).toBe("~bot/x");
    expect(loadConfig({ HOME: "/home/bot", OPENCLAW_HOME: "   " }).sources.openclawHome).toBeNull();
  });

  it("a ~ in OPENCLAW_STATE_DIR (and CLAWDBOT_/MOLTBOT_) is OpenClaw's home: OPENCLAW_HOME, else HOME", () => {
    const c = loadConfig({
      HOME: "/home/bot",
      OPENCLAW_HOME: "/srv/oc",
      OPENCLAW_STATE_DIR: "~/.openclaw-work",
    });
    expect(c.sources.openclawStateDir).toBe("/srv/oc/.openclaw-work");
    const d = loadConfig({
      HOME: "/home/bot",
      CLAWDBOT_STATE_DIR: "~/.clawdbot",
      MOLTBOT_STATE_DIR: " /abs ",
    });
    expect(d.sources.clawdbotStateDir).toBe("/home/bot/.clawdbot");
    expect(d.sources.moltbotStateDir).toBe("/abs");
  });

  it("a ~ in CREDITGATE_STATE_DIRS is HOME", () => {
    const c = loadConfig({ HOME: "/home/bot", CREDITGATE_STATE_DIRS: "~/.openclaw, /srv/state" });
    expect(c.sources.explicitStateDirs).toEqual(["/home/bot/.openclaw", "/srv/state"]);
  });
});

describe("a ~ with HOME unset", () => {
  it("is the OS user's home (os.homedir), as OpenClaw falls back, not a directory named ~", () => {
    const c = loadConfig({ OPENCLAW_STATE_DIR: "~/oc" });
    expect(c.sources.openclawStateDir).toBe(`${homedir()}/oc`);
  });
});

describe("a ~ with HOME set but blank", () => {
  it("is the password database's home, not a directory named ~", () => {
    const saved = process.env.HOME;
    process.env.HOME = "  "; // os.homedir() returns it as it is
    try {
      const c = loadConfig({ HOME: "  ", OPENCLAW_STATE_DIR: "~/oc" });
      expect(c.sources.openclawStateDir).toBe(`${userInfo().homedir}/oc`);
    } finally {
      process.env.HOME = saved;
    }
  });
});
