import { describe, expect } from "vitest";
import {
  createLedger,
  DEFAULT_GRANT_PRIORITY,
  drawGrants,
  type GrantKind,
  type GrantSlot,
  type Ledger,
  type PostEntry,
  parseExpiry,
} from "../../src/credits/index.js";
import { ENGINES, testOn } from "../support/temp-db.js";

const NOW = 1_790_000_000_000;
const DAY = 86_400_000;
const U = "telegram:1";
const C = 1_000_000n; // one credit in micro-credits

let seq = 0;
const post = (ledger: Ledger, over: Partial<PostEntry> & Pick<PostEntry, "kind" | "amountMicroCredits">) =>
  ledger.post({ accountId: U, idempotencyKey: `k${seq++}`, reason: null, ref: null, nowMs: NOW, ...over });

/** Remaining per grant id, and the invariants, after every step. */
function remaining(ledger: Ledger, accountId = U): Record<number, number> {
  const out: Record<number, number> = {};
  for (const g of ledger.grants(accountId, 1000)) out[g.id] = g.remainingMicroCredits;
  return out;
}

function expectInvariants(ledger: Ledger): void {
  expect(ledger.inconsistentAccounts()).toEqual([]);
  expect(ledger.inconsistentGrants()).toEqual({ accounts: [], grants: [] });
}

const slot = (over: Partial<GrantSlot> & Pick<GrantSlot, "id">): GrantSlot => ({
  accountId: U,
  kind: "paid",
  grantedMicroCredits: 10n,
  remainingMicroCredits: 10n,
  priority: DEFAULT_GRANT_PRIORITY.paid,
  expiresAtMs: null,
  ref: null,
  state: "live",
  createdAtMs: NOW,
  ...over,
});

describe.each(ENGINES)("%s", (engine) => {
  const test = testOn(engine);

  describe("burn order (table)", () => {
    // Each row: grants as [kind, remaining, expiresInDays|null, createdOffset, priority?], a debit,
    // and the expected draws by grant index.
    type Row = {
      name: string;
      grants: [GrantKind, number, number | null, number, number?][];
      debit: number;
      draws: [number, number][];
      debt: number;
    };
    const rows: Row[] = [
      {
        name: "promotional before paid (no expiry on either)",
        grants: [
          ["paid", 5, null, 0],
          ["promotional", 3, null, 1],
        ],
        debit: 4,
        draws: [
          [1, 3],
          [0, 1],
        ],
        debt: 0,
      },
      {
        name: "expiring soonest first beats kind: an expiring paid grant before a non-expiring promotional one",
        grants: [
          ["promotional", 3, null, 0],
          ["paid", 5, 10, 1],
        ],
        debit: 6,
        draws: [
          [1, 5],
          [0, 1],
        ],
        debt: 0,
      },
      {
        name: "sooner expiry first among promotional grants",
        grants: [
          ["promotional", 2, 30, 0],
          ["promotional", 2, 3, 1],
        ],
        debit: 3,
        draws: [
          [1, 2],
          [0, 1],
        ],
        debt: 0,
      },
      {
        name: "same expiry and priority: oldest first",
        grants: [
          ["paid", 2, null, 5],
          ["paid", 2, null, 1],
        ],
        debit: 3,
        draws: [
          [1, 2],
          [0, 1],
        ],
        debt: 0,
      },
      {
        name: "an explicit priority overrides the kind's default",
        grants: [
          ["promotional", 2, null, 0],
          ["paid", 2, null, 1, 1],
        ],
        debit: 1,
        draws: [[1, 1]],
        debt: 0,
      },
      {
        name: "refund credit between promotional and paid",
        grants: [
          ["paid", 1, null, 0],
          ["refund-credit", 1, null, 1],
          ["promotional", 1, null, 2],
        ],
        debit: 3,
        draws: [
          [2, 1],
          [1, 1],
          [0, 1],
        ],
        debt: 0,
      },
      {
        name: "past every grant the rest is debt",
        grants: [
          ["promotional", 1, 3, 0],
          ["paid", 2, null, 1],
        ],
        debit: 5,
        draws: [
          [0, 1],
          [1, 2],
        ],
        debt: 2,
      },
      { name: "no grants: all debt", grants: [], debit: 4, draws: [], debt: 4 },
    ];

    describe.each(rows)("$name", (row) => {
      test("drawGrants (pure) and the ledger agree", ({ db }) => {
        const slots = row.grants
          .map(([kind, rem, exp, created, prio], i) =>
            slot({
              id: i,
              kind,
              grantedMicroCredits: BigInt(rem),
              remainingMicroCredits: BigInt(rem),
              expiresAtMs: exp === null ? null : NOW + exp * DAY,
              createdAtMs: NOW + created,
              priority: prio ?? DEFAULT_GRANT_PRIORITY[kind],
            }),
          )
          .sort((a, b) => {
            const ea = a.expiresAtMs ?? Number.POSITIVE_INFINITY;
            const eb = b.expiresAtMs ?? Number.POSITIVE_INFINITY;
            if (ea !== eb) return ea - eb;
            return a.priority - b.priority || a.createdAtMs - b.createdAtMs;
          });
        const pure = drawGrants(slots, BigInt(row.debit));
        expect(pure.draws.map((d) => [d.grant.id, Number(d.amountMicroCredits)])).toEqual(row.draws);
        expect(Number(pure.uncovered)).toBe(row.debt);

        // The same through the ledger, with credits in micro-credits × 1 credit.
        const ledger = createLedger(db);
        const ids: number[] = [];
        for (const [kind, rem, exp, created, prio] of row.grants) {
          const r = post(ledger, {
            kind: kind === "paid" ? "topup" : kind === "refund-credit" ? "refund" : "grant",
            amountMicroCredits: BigInt(rem) * C,
            nowMs: NOW - 1000 + created,
            grant: {
              ...(exp === null ? {} : { expiresAtMs: NOW + exp * DAY }),
              ...(prio === undefined ? {} : { priority: prio }),
            },
          });
          if (r.status !== "applied") throw new Error("not applied");
          if (r.split.grantId === null) throw new Error("no grant");
          ids.push(r.split.grantId);
        }
        const d = post(ledger, { kind: "usage", amountMicroCredits: -BigInt(row.debit) * C });
        if (d.status !== "applied") throw new Error("not applied");
        expect(d.split.draws.map((x) => [ids.indexOf(x.grantId), Number(x.amountMicroCredits / C)])).toEqual(
          row.draws,
        );
        expect(d.split.debtMicroCredits).toBe(BigInt(row.debt) * C);
        expect(
          ledger.allocations(d.entryId).map((a) => [ids.indexOf(a.grantId), a.amountMicroCredits / 1e6]),
        ).toEqual([...row.draws].sort((a, b) => (ids[a[0]] ?? 0) - (ids[b[0]] ?? 0)));
        expectInvariants(ledger);
      });
    });
  });

  describe("credits and debt", () => {
    test("ledger kinds become grant kinds; options override", ({ db }) => {
      const ledger = createLedger(db);
      post(ledger, { kind: "topup", amountMicroCredits: C });
      post(ledger, { kind: "grant", amountMicroCredits: C });
      post(ledger, { kind: "refund", amountMicroCredits: C });
      post(ledger, { kind: "grant", amountMicroCredits: C, grant: { kind: "paid", priority: 7 } });
      expect(
        ledger
          .grants(U)
          .reverse()
          .map((g) => [g.kind, g.priority]),
      ).toEqual([
        ["paid", 30],
        ["promotional", 10],
        ["refund-credit", 20],
        ["paid", 7],
      ]);
    });

    test("a credit pays debt first; only the rest is a spendable grant", ({ db }) => {
      const ledger = createLedger(db);
      post(ledger, { kind: "usage", amountMicroCredits: -3n * C });
      const r = post(ledger, { kind: "topup", amountMicroCredits: 5n * C });
      if (r.status !== "applied") throw new Error();
      expect(r.balanceMicroCredits).toBe(2_000_000);
      expect(r.split.debtMicroCredits).toBe(3n * C);
      const [g] = ledger.grants(U);
      expect(g).toMatchObject({
        kind: "paid",
        grantedMicroCredits: 5_000_000,
        remainingMicroCredits: 2_000_000,
      });
      // The debt it paid is recorded as drawn from the new grant by its own entry.
      expect(ledger.allocations(r.entryId)).toEqual([{ grantId: g?.id, amountMicroCredits: 3_000_000 }]);
      expectInvariants(ledger);
    });

    test("a credit smaller than the debt leaves a used-up grant and less debt", ({ db }) => {
      const ledger = createLedger(db);
      post(ledger, { kind: "usage", amountMicroCredits: -3n * C });
      post(ledger, { kind: "grant", amountMicroCredits: C });
      expect(ledger.balance(U)?.balanceMicroCredits).toBe(-2_000_000);
      expect(ledger.grants(U)[0]?.remainingMicroCredits).toBe(0);
      expect(ledger.summary(U, NOW)).toMatchObject({
        debtMicroCredits: 2_000_000,
        promotionalMicroCredits: 0,
      });
      expectInvariants(ledger);
    });

    test("invalid grant options are refused and post nothing", ({ db }) => {
      const ledger = createLedger(db);
      expect(() => post(ledger, { kind: "grant", amountMicroCredits: C, grant: { priority: -1 } })).toThrow(
        /priority/,
      );
      expect(() => post(ledger, { kind: "grant", amountMicroCredits: C, grant: { priority: 1.5 } })).toThrow(
        /priority/,
      );
      expect(ledger.balance(U)).toBeNull();
    });
  });

  describe("idempotent grants", () => {
    test("a replayed key with another grant kind, priority or expiry is refused; a true replay names the first grant", ({
      db,
    }) => {
      const ledger = createLedger(db);
      const promo = {
        kind: "grant",
        amountMicroCredits: 3n * C,
        idempotencyKey: "grant:k1",
        grant: { kind: "promotional", expiresAtMs: NOW + DAY },
      } as const;
      const first = post(ledger, promo);
      expect(first.status).toBe("applied");
      // A relative expiry (30d) moves with the clock: a retry's expiry time may differ.
      const again = post(ledger, { ...promo, grant: { ...promo.grant, expiresAtMs: NOW + 2 * DAY } });
      expect(again).toMatchObject({
        status: "duplicate",
        grant: { kind: "promotional", expiresAtMs: NOW + DAY },
      });
      for (const grant of [
        { kind: "paid" as const, expiresAtMs: NOW + DAY },
        { kind: "promotional" as const, expiresAtMs: null },
        { kind: "promotional" as const, expiresAtMs: NOW + DAY, priority: 0 },
      ])
        expect(() => post(ledger, { ...promo, grant }), JSON.stringify(grant)).toThrow(/different grant/);
      expect(() => post(ledger, { ...promo, kind: "topup", grant: promo.grant })).toThrow(/different grant/);
      expect(ledger.balance(U)?.balanceMicroCredits).toBe(3_000_000);
      expect(ledger.grants(U)).toHaveLength(1);
      expectInvariants(ledger);
    });
  });

  describe("parseExpiry", () => {
    test("durations and real UTC dates are read; impossible dates are refused, not rolled over", () => {
      expect(parseExpiry("30d", NOW)).toBe(NOW + 30 * DAY);
      expect(parseExpiry("2027-03-01", NOW)).toBe(Date.UTC(2027, 2, 1));
      expect(parseExpiry("2028-02-29", NOW)).toBe(Date.UTC(2028, 1, 29));
      for (const bad of ["2027-02-30", "2027-02-29", "2027-04-31", "2027-02-30T10:00:00Z", "2027-13-01"])
        expect(() => parseExpiry(bad, NOW), bad).toThrow(/cannot read/);
      expect(() => parseExpiry("2020-01-01", NOW)).toThrow(/future/);
    });
  });

  describe("expiry", () => {
    test("the expiry run posts the remainder once; it is never refunded and reruns do nothing", ({ db }) => {
      const ledger = createLedger(db);
      const g = post(ledger, {
        kind: "grant",
        amountMicroCredits: 5n * C,
        grant: { expiresAtMs: NOW + DAY },
      });
      post(ledger, { kind: "topup", amountMicroCredits: 2n * C });
      post(ledger, { kind: "usage", amountMicroCredits: -1n * C });
      expect(ledger.expireDue(NOW + DAY - 1)).toMatchObject({ expired: 0 });
      const r = ledger.expireDue(NOW + DAY);
      expect(r).toMatchObject({ expired: 1, microCredits: 4_000_000 });
      expect(ledger.expireDue(NOW + 2 * DAY)).toMatchObject({ expired: 0 });
      const [last] = ledger.entries(U, 1);
      expect(last).toMatchObject({
        kind: "expiry",
        amountMicroCredits: -4_000_000,
        balanceAfterMicroCredits: 2_000_000,
        idempotencyKey: `expiry:${g.status === "applied" ? g.split.grantId : 0}`,
      });
      expect(last?.reason).toMatch(/promotional grant #\d+ expired at .*: 4\.00 of 5\.00 credits unused/);
      expect(ledger.grants(U).find((x) => x.kind === "promotional")).toMatchObject({
        state: "expired",
        remainingMicroCredits: 0,
      });
      // A credit afterwards does not revive it: it is a new grant.
      post(ledger, { kind: "topup", amountMicroCredits: C, nowMs: NOW + 3 * DAY });
      expect(ledger.summary(U, NOW + 3 * DAY)).toMatchObject({
        paidMicroCredits: 3_000_000,
        promotionalMicroCredits: 0,
      });
      expectInvariants(ledger);
    });

    test("a debit after the expiry time never spends the expired grant, even before the run", ({ db }) => {
      const ledger = createLedger(db);
      post(ledger, { kind: "grant", amountMicroCredits: 5n * C, grant: { expiresAtMs: NOW + DAY } });
      post(ledger, { kind: "topup", amountMicroCredits: 2n * C });
      // Before the expiry: the expiring promotional grant burns first.
      post(ledger, { kind: "usage", amountMicroCredits: -1n * C, nowMs: NOW + DAY - 1 });
      // After it: the grant expires first (its own entry), then the usage draws from paid, then debt.
      const u = post(ledger, { kind: "usage", amountMicroCredits: -3n * C, nowMs: NOW + DAY });
      const kinds = ledger
        .entries(U, 10)
        .reverse()
        .map((e) => [e.kind, e.amountMicroCredits / 1e6]);
      expect(kinds).toEqual([
        ["grant", 5],
        ["topup", 2],
        ["usage", -1],
        ["expiry", -4],
        ["usage", -3],
      ]);
      expect(u.balanceMicroCredits).toBe(-1_000_000);
      expect(ledger.expireDue(NOW + DAY)).toMatchObject({ expired: 0 });
      expectInvariants(ledger);
    });

    test("expiry during a batch: calls billed after the expiry time skip the grant, exactly one expiry entry", ({
      db,
    }) => {
      const ledger = createLedger(db);
      post(ledger, { kind: "grant", amountMicroCredits: 3n * C, grant: { expiresAtMs: NOW + 10 } });
      post(ledger, { kind: "topup", amountMicroCredits: 10n * C });
      db.transaction(() => {
        const p = ledger.batchPoster();
        p.post({ accountId: U, kind: "usage", amountMicroCredits: -C, idempotencyKey: "b1", nowMs: NOW + 5 });
        // The grant is due from here on: the next debit expires it (2 left) before drawing.
        p.post({
          accountId: U,
          kind: "usage",
          amountMicroCredits: -C,
          idempotencyKey: "b2",
          nowMs: NOW + 10,
        });
        p.post({
          accountId: U,
          kind: "usage",
          amountMicroCredits: -C,
          idempotencyKey: "b3",
          nowMs: NOW + 11,
        });
        expect(p.balanceOf(U)).toBe(13n * C - 3n * C - 2n * C);
        p.finish(NOW + 11);
      }).immediate();
      const expiries = ledger.entries(U, 100).filter((e) => e.kind === "expiry");
      expect(expiries.map((e) => e.amountMicroCredits)).toEqual([-2_000_000]);
      expect(ledger.summary(U, NOW + 11)).toMatchObject({
        paidMicroCredits: 8_000_000,
        promotionalMicroCredits: 0,
      });
      expect(ledger.balance(U)?.balanceMicroCredits).toBe(8_000_000);
      expect(ledger.expireDue(NOW + 20).expired).toBe(0);
      expectInvariants(ledger);
    });

    test("a grant that expires while the user is overdrawn: nothing left, no entry, debt unchanged", ({
      db,
    }) => {
      const ledger = createLedger(db);
      post(ledger, { kind: "grant", amountMicroCredits: 2n * C, grant: { expiresAtMs: NOW + DAY } });
      post(ledger, { kind: "usage", amountMicroCredits: -5n * C });
      expect(ledger.balance(U)?.balanceMicroCredits).toBe(-3_000_000);
      const before = ledger.entries(U, 100).length;
      expect(ledger.expireDue(NOW + DAY)).toMatchObject({ expired: 1, microCredits: 0 });
      expect(ledger.entries(U, 100).length).toBe(before);
      expect(ledger.balance(U)?.balanceMicroCredits).toBe(-3_000_000);
      expect(ledger.grants(U)[0]).toMatchObject({ state: "expired", remainingMicroCredits: 0 });
      expectInvariants(ledger);
    });

    test("a grant given while overdrawn that expires pays the debt it paid, only its rest expires", ({
      db,
    }) => {
      const ledger = createLedger(db);
      post(ledger, { kind: "usage", amountMicroCredits: -2n * C });
      post(ledger, { kind: "grant", amountMicroCredits: 5n * C, grant: { expiresAtMs: NOW + DAY } });
      expect(ledger.expireDue(NOW + DAY)).toMatchObject({ expired: 1, microCredits: 3_000_000 });
      expect(ledger.balance(U)?.balanceMicroCredits).toBe(0);
      expectInvariants(ledger);
    });

    test("summary: paid + promotional and the next expiry (same-time grants add up)", ({ db }) => {
      const ledger = createLedger(db);
      post(ledger, { kind: "topup", amountMicroCredits: 3_200_000n });
      post(ledger, { kind: "grant", amountMicroCredits: 600_000n, grant: { expiresAtMs: NOW + 30 * DAY } });
      post(ledger, { kind: "grant", amountMicroCredits: 400_000n, grant: { expiresAtMs: NOW + 30 * DAY } });
      post(ledger, { kind: "grant", amountMicroCredits: 1_000_000n, grant: { expiresAtMs: NOW + 60 * DAY } });
      const s = ledger.summary(U, NOW);
      expect(s).toMatchObject({
        paidMicroCredits: 3_200_000,
        promotionalMicroCredits: 2_000_000,
        refundCreditMicroCredits: 0,
        debtMicroCredits: 0,
      });
      expect(s.nextExpiry).toMatchObject({
        atMs: NOW + 30 * DAY,
        microCredits: 1_000_000,
        kind: "promotional",
      });
      expect(ledger.expiringBetween(NOW, NOW + 31 * DAY).length).toBe(2);
    });
  });

  describe("reversals reverse from the grant they paid for", () => {
    test("a refund of a half-spent paid grant: its rest, then other grants, then debt", ({ db }) => {
      const ledger = createLedger(db);
      const paid = post(ledger, { kind: "topup", amountMicroCredits: 10n * C, ref: "tu_1" });
      const promo = post(ledger, { kind: "grant", amountMicroCredits: 2n * C });
      const other = post(ledger, { kind: "topup", amountMicroCredits: 4n * C, ref: "tu_2" });
      if (paid.status !== "applied" || promo.status !== "applied" || other.status !== "applied")
        throw new Error();
      // Usage burns promotional (2) then paid oldest-first: 5 of tu_1 → tu_1 has 5 left.
      post(ledger, { kind: "usage", amountMicroCredits: -7n * C });
      expect(remaining(ledger)[paid.split.grantId ?? -1]).toBe(5_000_000);
      // Full refund of tu_1: its 5 left, then the 5 already spent come from tu_2 (4), then 1 debt.
      const rev = post(ledger, { kind: "reversal", amountMicroCredits: -10n * C, ref: "tu_1" });
      if (rev.status !== "applied") throw new Error();
      expect(rev.split.draws).toEqual([
        { grantId: paid.split.grantId, amountMicroCredits: 5n * C },
        { grantId: other.split.grantId, amountMicroCredits: 4n * C },
      ]);
      expect(rev.split.debtMicroCredits).toBe(C);
      expect(ledger.balance(U)?.balanceMicroCredits).toBe(-1_000_000);
      expectInvariants(ledger);
      // A won dispute restores the credit into the same grant (after paying the debt it made).
      const back = post(ledger, { kind: "reversal", amountMicroCredits: 10n * C, ref: "tu_1" });
      if (back.status !== "applied") throw new Error();
      expect(back.split).toMatchObject({ grantId: null, debtMicroCredits: C });
      expect(remaining(ledger)[paid.split.grantId ?? -1]).toBe(9_000_000);
      expect(ledger.balance(U)?.balanceMicroCredits).toBe(9_000_000);
      expectInvariants(ledger);
    });

    test("a partial refund of an unspent grant takes only from that grant", ({ db }) => {
      const ledger = createLedger(db);
      post(ledger, { kind: "topup", amountMicroCredits: 4n * C, ref: "tu_a" });
      const b = post(ledger, { kind: "topup", amountMicroCredits: 4n * C, ref: "tu_b" });
      if (b.status !== "applied") throw new Error();
      const rev = post(ledger, { kind: "reversal", amountMicroCredits: -2n * C, ref: "tu_b" });
      if (rev.status !== "applied") throw new Error();
      expect(rev.split.draws).toEqual([{ grantId: b.split.grantId, amountMicroCredits: 2n * C }]);
      expectInvariants(ledger);
    });
  });

  describe("batch poster", () => {
    test("grants are read once per account, credits in a batch become grants, restore undoes a savepoint", ({
      db,
    }) => {
      const ledger = createLedger(db);
      post(ledger, { kind: "grant", amountMicroCredits: 2n * C });
      db.transaction(() => {
        const p = ledger.batchPoster();
        p.post({ accountId: U, kind: "usage", amountMicroCredits: -C, idempotencyKey: "u1", nowMs: NOW });
        const mark = p.mark();
        const inner = db.transaction(() => {
          p.post({
            accountId: U,
            kind: "usage",
            amountMicroCredits: -5n * C,
            idempotencyKey: "u2",
            nowMs: NOW,
          });
          throw new Error("poison");
        });
        expect(() => inner()).toThrow("poison");
        p.restore(mark);
        p.post({ accountId: U, kind: "topup", amountMicroCredits: 3n * C, idempotencyKey: "t1", nowMs: NOW });
        p.post({
          accountId: U,
          kind: "usage",
          amountMicroCredits: -2n * C,
          idempotencyKey: "u3",
          nowMs: NOW,
        });
        p.finish(NOW);
      }).immediate();
      // promo 2: -1 (u1), -1 (u3) → 0; paid 3: -1 (u3) → 2.
      expect(ledger.summary(U, NOW)).toMatchObject({
        promotionalMicroCredits: 0,
        paidMicroCredits: 2_000_000,
      });
      expect(ledger.balance(U)?.balanceMicroCredits).toBe(2_000_000);
      expectInvariants(ledger);
    });

    test("random posts, batches, expiries and reversals keep every invariant", ({ db }) => {
      const ledger = createLedger(db);
      let s = 12345;
      const next = () => {
        s = (s * 1103515245 + 12345) % 2147483648;
        return s / 2147483648;
      };
      const accounts = ["telegram:1", "telegram:2", "agent:main"];
      const pick = () => accounts[Math.floor(next() * accounts.length)] ?? U;
      let t = NOW;
      for (let round = 0; round < 80; round++) {
        t += Math.floor(next() * DAY);
        const r = next();
        const acct = pick();
        if (r < 0.3) {
          const kinds = ["grant", "topup", "refund"] as const;
          post(ledger, {
            accountId: acct,
            kind: kinds[Math.floor(next() * 3)] ?? "grant",
            amountMicroCredits: BigInt(1 + Math.floor(next() * 5_000_000)),
            ref: `tu_${round}`,
            nowMs: t,
            grant: next() < 0.5 ? { expiresAtMs: t + Math.floor(next() * 3 * DAY) } : {},
          });
        } else if (r < 0.4) {
          post(ledger, {
            accountId: acct,
            kind: "reversal",
            amountMicroCredits: -BigInt(1 + Math.floor(next() * 3_000_000)),
            ref: `tu_${Math.floor(next() * round)}`,
            nowMs: t,
          });
        } else if (r < 0.5) {
          ledger.expireDue(t);
        } else {
          db.transaction(() => {
            const p = ledger.batchPoster();
            for (let i = 0; i < 5; i++)
              p.post({
                accountId: pick(),
                kind: "usage",
                amountMicroCredits: -BigInt(1 + Math.floor(next() * 400_000)),
                idempotencyKey: `r${round}:${i}`,
                nowMs: t + i,
              });
            p.finish(t + 5);
          }).immediate();
        }
        expectInvariants(ledger);
      }
      expect(db.prepare("SELECT COUNT(*) n FROM ledger_entries WHERE kind = 'expiry'").get()).not.toEqual({
        n: 0,
      });
    });
  });
});
