#!/usr/bin/env node
// Builds test/credits/fixtures/release-v11.sqlite: a database made by a RELEASED creditgate
// (schema version 11, before grants), used by test/credits/grants-migration.test.ts to prove
// migration 13 on real data. Usage:
//   node scripts/make-release-db.mjs <release-dist-dir> <out.sqlite>
// e.g. node scripts/make-release-db.mjs /work/main/dist test/credits/fixtures/release-v11.sqlite
// It runs the release's own `creditgate meter --once` on a small synthetic OpenClaw state (usage
// rows that reference ledger entries), then funds accounts through the release's ledger and
// fulfilment path: top-ups paid and refunded, operator grants, unfunded users in debt.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { SYNTH_PRICES, synthState } from "./synth-state.mjs";

const [distArg, outArg] = process.argv.slice(2);
if (!distArg || !outArg) {
  console.error("usage: make-release-db.mjs <release-dist-dir> <out.sqlite>");
  process.exit(2);
}
const dist = resolve(distArg);
const out = resolve(outArg);
if (existsSync(out)) rmSync(out);
const imp = (p) => import(pathToFileURL(join(dist, p)).href);

const dir = mkdtempSync(join(tmpdir(), "cg-release-db-"));
const stateDir = join(dir, "state");
synthState({ stateDir, sessions: 12, turns: 2, users: 6, toolBytes: 100, seed: 11 });
const prices = join(dir, "prices.json");
writeFileSync(prices, JSON.stringify(SYNTH_PRICES));
const env = {
  PATH: process.env.PATH ?? "",
  CREDITGATE_DB: out,
  CREDITGATE_STATE_DIRS: stateDir,
  CREDITGATE_PRICES: prices,
  CREDITGATE_COST_MODE: "calculate",
  CREDITGATE_LOG_LEVEL: "silent",
};
const meter = spawnSync(process.execPath, [join(dist, "cli/main.js"), "meter", "--once", "--json"], { env });
if (meter.status !== 0) {
  console.error(meter.stderr.toString());
  process.exit(1);
}

const { openDatabase } = await imp("db/index.js");
const { createLedger } = await imp("credits/index.js");
const { createFulfiller } = await imp("webhooks/index.js");
const db = openDatabase(out);
const ledger = createLedger(db);
const fulfil = createFulfiller(db);
const NOW = 1_790_100_000_000;
const users = db
  .prepare("SELECT id FROM accounts WHERE kind = 'user' ORDER BY id")
  .all()
  .map((r) => r.id);
const credits = (n) => BigInt(n) * 1_000_000n;

function topup(id, accountId, grant, cents) {
  fulfil.topups.insert(
    {
      id,
      accountId,
      packId: "p",
      provider: "stripe",
      currency: "USD",
      amountMinor: BigInt(cents),
      currencyExponent: 2,
      grantMicroCredits: credits(grant),
      expiresAtMs: NOW + 3600_000,
    },
    NOW,
  );
  fulfil.apply({
    event: null,
    topupId: id,
    observation: {
      state: "paid",
      paid: { amountMinor: BigInt(cents), currency: "USD" },
      paymentRef: `pi_${id}`,
      source: "fixture",
    },
    nowMs: NOW,
  });
}
function refund(id, cents) {
  fulfil.apply({
    event: null,
    topupId: id,
    observation: {
      state: "unchanged",
      refundedMinor: BigInt(cents),
      refundIsCurrent: true,
      source: "fixture refund",
    },
    nowMs: NOW + 1,
  });
}
const grant = (accountId, n, key) =>
  ledger.post({
    accountId,
    kind: "grant",
    amountMicroCredits: credits(n),
    idempotencyKey: `grant:${key}`,
    reason: "fixture",
    nowMs: NOW,
  });

const [a, b, c, d, e] = users;
topup("tu_a", a, 20, 2000); // paid, some spent
grant(a, 5, "a"); // mixed paid + promotional
grant(b, 50, "b"); // promotional only
topup("tu_c", c, 10, 1000); // paid then refunded in full: debt
refund("tu_c", 1000);
topup("tu_e", e, 100, 10000); // paid only, half refunded
refund("tu_e", 5000);
// d: never funded (usage only): stays in debt
grant("telegram:999999", 3, "idle"); // a user with no usage: promotional only
void d;
db.pragma("wal_checkpoint(TRUNCATE)");
db.close();
const db2 = openDatabase(out);
db2.exec("VACUUM");
const rows = db2
  .prepare(
    `SELECT a.id, a.balance_micro_credits AS balance,
       (SELECT COALESCE(SUM(amount_micro_credits), 0) FROM ledger_entries e WHERE e.account_id = a.id AND e.kind IN ('topup', 'reversal')) AS paid_in,
       (SELECT COUNT(*) FROM usage_events u WHERE u.account_id = a.id) AS calls
     FROM accounts a ORDER BY a.id`,
  )
  .all();
console.log(JSON.stringify({ userVersion: db2.pragma("user_version", { simple: true }), rows }, null, 2));
db2.pragma("wal_checkpoint(TRUNCATE)");
db2.close();
rmSync(dir, { recursive: true, force: true });
