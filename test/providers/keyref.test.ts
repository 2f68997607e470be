/**
 * Keys from OpenClaw auth profiles that reference a secret (`keyRef`, or a `key` that is an env
 * reference), resolved read-only without running anything, in a fake OpenClaw state dir; and the
 * key-file config errors. No key ever appears in a message, a log line, the database or the view.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createProviderService,
  lookupOpenClawKey,
  parseSecretRef,
  resolveKey,
} from "../../src/providers/index.js";
import { CollectorError } from "../../src/providers/types.js";
import { FakeProviders } from "../support/fake-providers.js";
import { test } from "../support/temp-db.js";
import { dumpDb, KEYS, serviceFor, settingsFor } from "./support.js";

let dir: string;
let state: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "cg-keyref-"));
  state = join(dir, ".openclaw");
  mkdirSync(state, { recursive: true });
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Writes one agent's auth-profiles.json in the fake state dir. */
function profiles(agent: string, p: Record<string, unknown>) {
  mkdirSync(join(state, "agents", agent, "agent"), { recursive: true });
  writeFileSync(
    join(state, "agents", agent, "agent", "auth-profiles.json"),
    JSON.stringify({ version: 1, profiles: p }),
  );
}
const off = { enabled: false, stateDirs: [] as string[] };
const on = () => ({ enabled: true, stateDirs: [state] });
const none = { value: null, file: null };
/** `${NAME}`: OpenClaw's env-reference form, built so no literal looks like a broken template. */
const envRef = (name: string) => `$${"{"}${name}}`;

describe("parseSecretRef", () => {
  it.each([
    [{ source: "env", provider: "default", id: "OPENROUTER_API_KEY" }, "env:default:OPENROUTER_API_KEY"],
    [{ source: "env", id: "OPENROUTER_API_KEY" }, "env:default:OPENROUTER_API_KEY"], // legacy, no provider
    [{ source: "file", provider: "vault", id: "/openrouter/apiKey" }, "file:vault:/openrouter/apiKey"],
    [{ source: "exec", provider: "bw", id: "openrouter" }, "exec:bw:openrouter"],
    [envRef("OPENROUTER_API_KEY"), "env:default:OPENROUTER_API_KEY"],
    ["$OPENROUTER_API_KEY", "env:default:OPENROUTER_API_KEY"],
    ["secretref-env:OPENROUTER_API_KEY", "env:default:OPENROUTER_API_KEY"],
    ["__env__:OPENROUTER_API_KEY", "env:default:OPENROUTER_API_KEY"],
    ["sk-or-v1-literal", null],
    [envRef("lower"), null],
    [{ source: "env" }, null],
    [null, null],
  ])("%j → %s", (value, label) => {
    const r = parseSecretRef(value);
    expect(r ? `${r.source}:${r.provider}:${r.id}` : null).toBe(label);
  });
});

describe("keyRef profiles in a fake OpenClaw state dir", () => {
  it("env ref: from <state>/.env, else openclaw.json's env block (JSON5); the process env is not read", () => {
    profiles("main", {
      "openrouter:default": {
        type: "api_key",
        provider: "openrouter",
        keyRef: { source: "env", provider: "default", id: "OPENROUTER_API_KEY" },
      },
      "deepseek:default": { type: "api_key", provider: "deepseek", key: envRef("DEEPSEEK_API_KEY") },
      "moonshot:default": {
        type: "api_key",
        provider: "moonshot",
        keyRef: { source: "env", id: "MOONSHOT_API_KEY" },
      },
    });
    writeFileSync(join(state, ".env"), `# keys\nexport OPENROUTER_API_KEY="${KEYS.openrouter}"\nOTHER=x\n`);
    writeFileSync(
      join(state, "openclaw.json"),
      `// JSON5, as OpenClaw writes and documents it\n{\n  env: {\n    OPENROUTER_API_KEY: "sk-or-loses-to-dotenv",\n    vars: { DEEPSEEK_API_KEY: '${KEYS.deepseek}', },\n  },\n}\n`,
    );
    process.env.MOONSHOT_API_KEY = "sk-from-creditgate-process-env";
    try {
      expect(resolveKey("openrouter", none, on())).toEqual({
        key: KEYS.openrouter,
        source: "openclaw:main/openrouter:default (env ref)",
      });
      expect(resolveKey("deepseek", none, on())?.key).toBe(KEYS.deepseek);
      // only in creditgate's own environment: not OpenClaw's, not resolved; a clear config error
      let err: unknown;
      try {
        resolveKey("moonshot", none, on());
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CollectorError);
      expect((err as CollectorError).kind).toBe("config");
      expect((err as CollectorError).message).toMatch(
        /openclaw:main\/moonshot:default: env:default:MOONSHOT_API_KEY: MOONSHOT_API_KEY is not set in .*\.env or openclaw\.json's env block/,
      );
      expect((err as CollectorError).message).not.toContain("sk-from-creditgate-process-env");
    } finally {
      delete process.env.MOONSHOT_API_KEY;
    }
  });

  it("env ref: a quoted .env value followed by a comment is the value inside the quotes", () => {
    profiles("main", {
      "openrouter:default": { type: "api_key", provider: "openrouter", key: envRef("OPENROUTER_API_KEY") },
      "deepseek:default": { type: "api_key", provider: "deepseek", key: envRef("DEEPSEEK_API_KEY") },
      "moonshot:default": { type: "api_key", provider: "moonshot", key: envRef("MOONSHOT_API_KEY") },
    });
    writeFileSync(
      join(state, ".env"),
      `OPENROUTER_API_KEY="${KEYS.openrouter}"  # the bot's key\nDEEPSEEK_API_KEY='${KEYS.deepseek}' #x\nMOONSHOT_API_KEY=${KEYS.moonshot} # plain\n`,
    );
    expect(resolveKey("openrouter", none, on())?.key).toBe(KEYS.openrouter);
    expect(resolveKey("deepseek", none, on())?.key).toBe(KEYS.deepseek);
    expect(resolveKey("moonshot", none, on())?.key).toBe(KEYS.moonshot);
  });

  it("env provider allowlist is honoured; an unconfigured provider alias is refused", () => {
    profiles("main", {
      "openrouter:default": {
        type: "api_key",
        provider: "openrouter",
        keyRef: { source: "env", provider: "locked", id: "OPENROUTER_API_KEY" },
      },
      "deepseek:default": {
        type: "api_key",
        provider: "deepseek",
        keyRef: { source: "env", provider: "nope", id: "DEEPSEEK_API_KEY" },
      },
    });
    writeFileSync(
      join(state, ".env"),
      `OPENROUTER_API_KEY=${KEYS.openrouter}\nDEEPSEEK_API_KEY=${KEYS.deepseek}\n`,
    );
    writeFileSync(
      join(state, "openclaw.json"),
      JSON.stringify({ secrets: { providers: { locked: { source: "env", allowlist: ["OTHER"] } } } }),
    );
    const a = lookupOpenClawKey("openrouter", [state]);
    expect(a.found).toBeNull();
    expect(a.skipped[0]?.reason).toMatch(/not in secrets\.providers\.locked\.allowlist/);
    expect(lookupOpenClawKey("deepseek", [state]).skipped[0]?.reason).toMatch(
      /secret provider "nope" is not configured/,
    );
  });

  it("file refs: json mode (JSON pointer) and singleValue; exec refs are not run", () => {
    const secrets = join(dir, "secrets.json");
    writeFileSync(secrets, JSON.stringify({ providers: { openrouter: { apiKey: KEYS.openrouter } } }));
    chmodSync(secrets, 0o600);
    const single = join(dir, "deepseek.key");
    writeFileSync(single, `${KEYS.deepseek}\n`);
    const marker = join(dir, "exec-ran");
    writeFileSync(
      join(state, "openclaw.json"),
      JSON.stringify({
        secrets: {
          providers: {
            vault: { source: "file", path: secrets, mode: "json" },
            one: { source: "file", path: single, mode: "singleValue" },
            bw: { source: "exec", command: "/bin/sh", args: ["-c", `touch ${marker}`] },
          },
        },
      }),
    );
    profiles("main", {
      "openrouter:default": {
        type: "api_key",
        provider: "openrouter",
        keyRef: { source: "file", provider: "vault", id: "/providers/openrouter/apiKey" },
      },
      "deepseek:default": {
        type: "api_key",
        provider: "deepseek",
        keyRef: { source: "file", provider: "one", id: "value" },
      },
      "moonshot:default": {
        type: "api_key",
        provider: "moonshot",
        keyRef: { source: "exec", provider: "bw", id: "moonshot" },
      },
      "moonshot:backup": { type: "api_key", provider: "moonshot", key: KEYS.moonshot },
      "anthropic:default": {
        type: "api_key",
        provider: "anthropic",
        keyRef: { source: "file", provider: "vault", id: "/providers/anthropic/apiKey" },
      },
    });
    expect(resolveKey("openrouter", none, on())).toEqual({
      key: KEYS.openrouter,
      source: "openclaw:main/openrouter:default (file ref)",
    });
    expect(resolveKey("deepseek", none, on())?.key).toBe(KEYS.deepseek);
    // the exec ref is skipped (nothing runs), the next profile of the provider is used
    const m = lookupOpenClawKey("moonshot", [state]);
    expect(m.found).toEqual({ key: KEYS.moonshot, source: "openclaw:main/moonshot:backup" });
    expect(m.skipped[0]?.reason).toMatch(/exec:bw:moonshot: "exec" references run a program/);
    expect(() => resolveKey("anthropic", none, on())).toThrow(
      /file:vault:\/providers\/anthropic\/apiKey: no string value there/,
    );
    expect(resolveKey("openrouter", none, off)).toBeNull();
    expect(existsSync(marker)).toBe(false);
  });

  test("a poll with a keyRef key stores the source, never the key; an unresolvable ref is a config error", async ({
    db,
  }) => {
    const fake = await new FakeProviders().start();
    try {
      writeFileSync(join(state, ".env"), `OPENROUTER_API_KEY=${KEYS.openrouter}\n`);
      profiles("main", {
        "openrouter:default": {
          type: "api_key",
          provider: "openrouter",
          keyRef: { source: "env", provider: "default", id: "OPENROUTER_API_KEY" },
        },
        "deepseek:default": {
          type: "api_key",
          provider: "deepseek",
          keyRef: { source: "env", provider: "default", id: "DEEPSEEK_API_KEY" },
        },
      });
      // no configured keys: only OpenClaw's
      const { service: bare, lines } = serviceFor(
        db,
        fake,
        {
          openclaw: { enabled: true, stateDirs: [state] },
          keys: Object.fromEntries(
            (["openrouter", "openai", "anthropic", "moonshot", "deepseek"] as const).map((id) => [
              id,
              { value: null, file: null, baseUrl: fake.baseUrls()[id] },
            ]),
          ) as never,
        },
        false,
      );
      expect(bare.configured()).toEqual(["openrouter", "deepseek"]);
      const ok = await bare.poll("openrouter", Date.UTC(2026, 10, 20));
      expect(ok.ok).toBe(true);
      const bad = await bare.poll("deepseek", Date.UTC(2026, 10, 20));
      expect(bad.error?.kind).toBe("config");
      expect(bad.error?.message).toMatch(/env:default:DEEPSEEK_API_KEY/);
      const views = bare.overview(Date.UTC(2026, 10, 20));
      expect(views.find((v) => v.provider === "openrouter")?.keySource).toBe(
        "openclaw:main/openrouter:default (env ref)",
      );
      expect(views.find((v) => v.provider === "deepseek")?.error?.kind).toBe("config");
      const all = [JSON.stringify(views), dumpDb(db), lines.join("\n")].join("\n");
      for (const k of Object.values(KEYS)) expect(all).not.toContain(k);
    } finally {
      await fake.stop();
    }
  });
});

describe("key files", () => {
  it("two lines are a config error naming the file, never the key; a key with a space too", () => {
    const f = join(dir, "k");
    writeFileSync(f, `${KEYS.deepseek}\n${KEYS.openrouter}\n`);
    let err: unknown;
    try {
      resolveKey("deepseek", { value: null, file: f }, off);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CollectorError);
    expect((err as CollectorError).kind).toBe("config");
    expect((err as CollectorError).message).toBe(
      `key file ${f} holds 2 lines; it must hold only the key, on one line`,
    );
    writeFileSync(f, "sk-one two\n");
    expect(() => resolveKey("deepseek", { value: null, file: f }, off)).toThrow(/whitespace inside the key/);
    // surrounding whitespace and one trailing newline are fine
    writeFileSync(f, `  ${KEYS.deepseek}\r\n`);
    expect(resolveKey("deepseek", { value: null, file: f }, off)?.key).toBe(KEYS.deepseek);
    expect(() => resolveKey("openai", { value: "sk-a\nsk-b", file: null }, off)).toThrow(
      /CREDITGATE_OPENAI_ADMIN_KEY holds whitespace/,
    );
  });

  it("a key with a zero-width space or a control character is a config error naming the character, not a 'network' error", () => {
    const f = join(dir, "zw");
    writeFileSync(f, "\uFEFFsk-SECRETzero\u200Bwidth0123456789\n");
    let err: unknown;
    try {
      resolveKey("deepseek", { value: null, file: f }, off);
    } catch (e) {
      err = e;
    }
    expect((err as CollectorError).kind).toBe("config");
    expect((err as CollectorError).message).toBe(
      `key file ${f} holds a character that cannot be sent in a header (U+200B, e.g. a zero-width space or control character pasted with it); it must hold only the key`,
    );
    expect(() => resolveKey("moonshot", { value: "sk-SECRET\x01ctl0123456789", file: null }, off)).toThrow(
      /^CREDITGATE_MOONSHOT_KEY holds a character that cannot be sent in a header \(U\+0001/,
    );
    profiles("main", {
      "openrouter:default": { type: "api_key", provider: "openrouter", key: "sk-or-v1-SECRET\u0109x0123" },
    });
    expect(lookupOpenClawKey("openrouter", [state]).skipped[0]?.reason).toMatch(
      /^the key has a character that cannot be sent in a header \(U\+0109/,
    );
  });

  test("a poll with a two-line key file records `config`, sends nothing, logs no key", async ({ db }) => {
    const fake = await new FakeProviders().start();
    try {
      const f = join(dir, "k");
      writeFileSync(f, `${KEYS.deepseek}\n# my deepseek key\n`);
      const lines: string[] = [];
      const settings = settingsFor(fake);
      settings.keys.deepseek = { value: null, file: f, baseUrl: fake.baseUrls().deepseek };
      const svc = createProviderService({
        db,
        settings,
        enforcer: null,
        log: (l, m) => lines.push(`${l} ${m}`),
      });
      const before = fake.requests.length;
      const r = await svc.poll("deepseek", Date.UTC(2026, 10, 20));
      expect(r.error).toEqual({
        kind: "config",
        message: `key file ${f} holds 2 lines; it must hold only the key, on one line`,
      });
      expect(fake.requests.length).toBe(before);
      const all = [
        lines.join("\n"),
        dumpDb(db),
        JSON.stringify(svc.view("deepseek", Date.UTC(2026, 10, 20))),
      ].join("\n");
      expect(all).not.toContain(KEYS.deepseek);
      expect(all).toMatch(/config/);
    } finally {
      await fake.stop();
    }
  });
});
