import { spawnSync } from "node:child_process";
import {
  appendFileSync,
  copyFileSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Db } from "../../src/db/index.js";
import { openDatabase } from "../../src/db/index.js";
import { queryUsage } from "../../src/meter/report.js";
import { casePricer, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

/** test/cases found by the hunt for hostile and real-world filesystem states (2026-12-03). */
const CASES = resolve(import.meta.dirname, "../cases");
/** The built CLI: a blocking open would hang an in-process test's worker for good, a child is killed. */
const CLI = resolve(import.meta.dirname, "../../dist/cli/main.js");

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

function byUser(db: Db) {
  return Object.fromEntries(
    queryUsage(db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
  );
}

describe("case sessions-index-unreadable-waits: an unreadable sessions.json holds back the sessions it may name", () => {
  const CASE = join(CASES, "sessions-index-unreadable-waits");
  const S1 = "7a1c0e52-3b9d-4f6a-8e21-5c4d3b2a1f01";
  const RIGHT = {
    "telegram:8880801": { requests: 2, costUsd: "0.0135" },
    "telegram:8880802": { requests: 1, costUsd: "0.00225" },
  };
  const sessions = () => join((w as TempWorld).stateDir, "agents", "main", "sessions");
  const repair = () => {
    const index = join(sessions(), "sessions.json");
    rmSync(index, { recursive: true, force: true });
    copyFileSync(join(CASE, "sessions.repaired.json"), index);
  };

  it("the 0-byte index (openclaw/openclaw#77783): nothing billed, the wait reported; repaired: each call to its user (was agent:main 3 calls $0.01575)", async () => {
    w = tempWorld(join(CASE, "state"));
    const meter = meterFor(w, { pricer: casePricer(CASE) });
    const first = await meter.runOnce();
    expect(first.billed).toBe(0);
    expect(first.failures).toEqual([
      expect.objectContaining({
        code: "EBADJSON",
        reason:
          "sessions.json cannot be read (not valid JSON): 2 transcript(s) of sessions it may name wait until it reads",
      }),
    ]);
    expect(byUser(w.db)).toEqual({});
    repair();
    const second = await meter.runOnce();
    expect(second.billed).toBe(3);
    expect(second.failures).toEqual([]);
    meter.close();
    expect(byUser(w.db)).toEqual(RIGHT);
  });

  it.each([
    [
      "zero-filled (a crash's fill)",
      () => writeFileSync(join(sessions(), "sessions.json"), Buffer.alloc(4096)),
    ],
    [
      "cut off mid-write",
      () => writeFileSync(join(sessions(), "sessions.json"), '{"agent:main:telegram:direct:1": {"sess'),
    ],
    // valid JSON but no object of entries (a tester, 2026-12-03: read as an index of no session,
    // every call billed to agent:main for good)
    ["null", () => writeFileSync(join(sessions(), "sessions.json"), "null\n")],
    ["a top-level array", () => writeFileSync(join(sessions(), "sessions.json"), "[]")],
    ["a string", () => writeFileSync(join(sessions(), "sessions.json"), '"{}"')],
    ["a directory", () => mkdirSync(join(sessions(), "sessions.json"))],
    [
      "a symlink to nothing",
      () => symlinkSync(join(sessions(), "gone.json"), join(sessions(), "sessions.json")),
    ],
    [
      "a symlink loop",
      () => {
        symlinkSync(join(sessions(), "loop.json"), join(sessions(), "sessions.json"));
        symlinkSync(join(sessions(), "sessions.json"), join(sessions(), "loop.json"));
      },
    ],
  ])("an index that is %s: the same wait, then the right users", async (_kind, damage) => {
    w = tempWorld(join(CASE, "state"));
    rmSync(join(sessions(), "sessions.json"));
    damage();
    const meter = meterFor(w, { pricer: casePricer(CASE) });
    const first = await meter.runOnce();
    expect(first.billed).toBe(0);
    expect(first.failures.map((f) => f.reason)).toEqual([
      expect.stringMatching(
        /^sessions\.json cannot be read \(.+\): 2 transcript\(s\) of sessions it may name wait/,
      ),
    ]);
    rmSync(join(sessions(), "loop.json"), { force: true });
    repair();
    expect((await meter.runOnce()).billed).toBe(3);
    meter.close();
    expect(byUser(w.db)).toEqual(RIGHT);
  });

  it("sessions read before the index broke bill on to their users; only an unknown session waits", async () => {
    w = tempWorld(join(CASE, "state"));
    repair();
    const meter = meterFor(w, { pricer: casePricer(CASE) });
    expect((await meter.runOnce()).billed).toBe(3);
    writeFileSync(join(sessions(), "sessions.json"), "");
    // a third turn: 3000 in, 100 out ($0.0105)
    const call = readFileSync(join(sessions(), `${S1}.jsonl`), "utf8").split("\n")[4] ?? ""; // the second call
    const third = call
      .replaceAll("c0000004", "c0000006")
      .replace("1795168822000", "1795168832000")
      .replace('"input":2000', '"input":3000')
      .replace('"totalTokens":2100', '"totalTokens":3100');
    appendFileSync(join(sessions(), `${S1}.jsonl`), `${third}\n`);
    const S3 = "7a1c0e52-3b9d-4f6a-8e21-5c4d3b2a1f03";
    writeFileSync(
      join(sessions(), `${S3}.jsonl`),
      readFileSync(join(sessions(), `${S1}.jsonl`), "utf8")
        .replaceAll(S1, S3)
        .replaceAll("17951688", "17951698"),
    );
    const broken = await meter.runOnce();
    expect(broken.billed).toBe(1); // S1's new call, to its user; S3 waits
    expect(broken.failures.map((f) => f.reason)).toEqual([
      expect.stringMatching(/: 1 transcript\(s\) of sessions/),
    ]);
    const index = JSON.parse(readFileSync(join(CASE, "sessions.repaired.json"), "utf8"));
    index["agent:main:telegram:direct:8880803"] = {
      sessionId: S3,
      lastChannel: "telegram",
      chatType: "direct",
    };
    writeFileSync(join(sessions(), "sessions.json"), JSON.stringify(index));
    expect((await meter.runOnce()).billed).toBe(3);
    meter.close();
    expect(byUser(w.db)).toEqual({
      "telegram:8880801": { requests: 3, costUsd: "0.024" },
      "telegram:8880802": { requests: 1, costUsd: "0.00225" },
      "telegram:8880803": { requests: 3, costUsd: "0.024" },
    });
  });

  it("no sessions.json at all is no wait: its sessions are the operator's, as before", async () => {
    w = tempWorld(join(CASE, "state"));
    rmSync(join(sessions(), "sessions.json"));
    const meter = meterFor(w, { pricer: casePricer(CASE) });
    const r = await meter.runOnce();
    meter.close();
    expect(r.billed).toBe(3);
    expect(r.failures).toEqual([]);
    expect(byUser(w.db)).toEqual({ "agent:main": { requests: 3, costUsd: "0.01575" } });
  });
});

describe("a state-dir name that is a FIFO or a device never hangs the meter (built CLI, killed after 20 s)", () => {
  const CASE = join(CASES, "sessions-index-unreadable-waits");
  const mkfifo = (path: string) => spawnSync("mkfifo", [path]);
  /** `meter --once` on a copy of the case with its index repaired, after `damage(stateDir, sessionsDir)`. */
  function run(damage: (state: string, sessions: string) => void) {
    w = tempWorld(join(CASE, "state"));
    const sessions = join(w.stateDir, "agents", "main", "sessions");
    copyFileSync(join(CASE, "sessions.repaired.json"), join(sessions, "sessions.json"));
    damage(w.stateDir, sessions);
    w.db.close();
    const r = spawnSync(
      process.execPath,
      [CLI, "meter", "--once", "--state-dir", w.stateDir, "--db", w.dbPath],
      {
        env: {
          PATH: process.env.PATH ?? "",
          CREDITGATE_PRICES: join(CASE, "prices.json"),
          CREDITGATE_LOG_LEVEL: "silent",
        },
        encoding: "utf8",
        timeout: 20_000,
        killSignal: "SIGKILL",
      },
    );
    const db = openDatabase(w.dbPath);
    try {
      return { signal: r.signal, status: r.status, err: r.stderr, users: byUser(db) };
    } finally {
      db.close();
    }
  }
  const RIGHT = {
    "telegram:8880801": { requests: 2, costUsd: "0.0135" },
    "telegram:8880802": { requests: 1, costUsd: "0.00225" },
  };

  it.each([
    [
      "a deleted-session archive",
      (_s: string, d: string) => mkfifo(join(d, `x.jsonl.deleted.2026-11-20T10-00-00.000Z.zst`)),
    ],
    [
      "a cold-storage archive",
      (_s: string, d: string) => {
        mkdirSync(join(d, "cold"));
        mkfifo(join(d, "cold", "0a1b2c.jsonl.zst"));
      },
    ],
    [
      "a deleted-session archive linked to /dev/zero",
      (_s: string, d: string) =>
        symlinkSync("/dev/zero", join(d, `y.jsonl.deleted.2026-11-20T10-00-00.000Z.zst`)),
    ],
  ])("%s: reported, every transcript billed", (_kind, damage) => {
    const r = run(damage);
    expect(r.signal).toBeNull();
    expect(r.status).toBe(1);
    expect(r.err).toMatch(/: not-a-file: not a regular file/);
    expect(r.users).toEqual(RIGHT);
  });

  it("openclaw.json (read for session.mainKey and the dmScope warning): OpenClaw's defaults, every transcript billed, reported", () => {
    const r = run((s) => mkfifo(join(s, "openclaw.json")));
    expect(r.signal).toBeNull();
    expect(r.users).toEqual(RIGHT);
    // since 2026-12-03 reported (its identity links are not applied): exit 1
    expect(r.status).toBe(1);
    expect(r.err).toMatch(/openclaw\.json: not-a-file: OpenClaw's config cannot be read/);
  });

  it.each([
    ["cut off mid-write", '{ "session": { "identityLinks": { "carol": ["telegram:8880801"] '],
    ["not an object", "[]"],
  ])(
    "openclaw.json %s: reported every poll (exit 1), OpenClaw's defaults, every transcript billed",
    (_k, text) => {
      const r = run((s) => writeFileSync(join(s, "openclaw.json"), text));
      expect(r.signal).toBeNull();
      expect(r.status).toBe(1);
      expect(r.err).toMatch(/openclaw\.json: EBADCONFIG: OpenClaw's config is not a JSON5 object/);
      expect(r.users).toEqual(RIGHT);
    },
  );

  it("a JSON5 openclaw.json (comments, trailing commas) is no problem", () => {
    const r = run((s) =>
      writeFileSync(join(s, "openclaw.json"), "// mine\n{ session: { dmScope: 'per-channel-peer', }, }\n"),
    );
    expect(r.status).toBe(0);
    expect(r.users).toEqual(RIGHT);
  });

  it.each([
    ["a FIFO", (_s: string, d: string) => mkfifo(join(d, "sessions.json"))],
    ["a symlink to /dev/zero", (_s: string, d: string) => symlinkSync("/dev/zero", join(d, "sessions.json"))],
  ])("sessions.json that is %s: reported, its sessions wait", (_kind, damage) => {
    const r = run((s, d) => {
      rmSync(join(d, "sessions.json"));
      damage(s, d);
    });
    expect(r.signal).toBeNull();
    expect(r.status).toBe(1);
    expect(r.err).toMatch(/sessions\.json: not-a-file: sessions\.json cannot be read \(not a regular file/);
    expect(r.users).toEqual({});
  });
});
