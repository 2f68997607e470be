import { describe, expect, it } from "vitest";
import { applyProviderRead, type PaymentObservation } from "../../src/payments/index.js";

const read = (refundedMinor: bigint): PaymentObservation => ({
  state: "unchanged",
  refundedMinor,
  refundIsCurrent: true,
  source: "test read",
});

describe("applyProviderRead (re-read after commit)", () => {
  it("re-reads once after a change and stops when the provider says what was applied", async () => {
    const applied: PaymentObservation[] = [];
    let reads = 0;
    const r = await applyProviderRead(
      read(100n),
      (o) => {
        applied.push(o);
        return { status: "applied" };
      },
      async () => {
        reads += 1;
        return read(100n);
      },
    );
    expect(r).toMatchObject({ rereads: 1, reapplied: 0, settled: true, error: null });
    expect(reads).toBe(1);
    expect(applied).toHaveLength(1);
  });

  it("applies a re-read that differs, with no event (n ≥ 1) and a source saying so", async () => {
    const calls: [bigint | undefined, number, string][] = [];
    const provider = [read(250n), read(250n)];
    const r = await applyProviderRead(
      read(100n),
      (o, n) => {
        calls.push([o.refundedMinor, n, o.source]);
        return { status: "applied" };
      },
      async () => provider.shift() ?? null,
    );
    expect(calls).toEqual([
      [100n, 0, "test read"],
      [250n, 1, "test read, re-read after commit"],
    ]);
    expect(r).toMatchObject({ rereads: 2, reapplied: 1, settled: true });
  });

  it("does not re-read after a commit that changed nothing", async () => {
    let reads = 0;
    const r = await applyProviderRead(
      read(100n),
      () => ({ status: "no_change" }),
      async () => {
        reads += 1;
        return read(0n);
      },
    );
    expect(reads).toBe(0);
    expect(r).toMatchObject({ rereads: 0, settled: true });
  });

  it("is bounded: a state still moving after 3 re-reads is left as last applied, unsettled", async () => {
    let level = 100n;
    const r = await applyProviderRead(
      read(level),
      () => ({ status: "applied" }),
      async () => {
        level += 1n;
        return read(level);
      },
    );
    expect(r).toMatchObject({ rereads: 3, reapplied: 3, settled: false, error: null });
  });

  it("a re-read that fails ends the check and keeps what was committed", async () => {
    const r = await applyProviderRead(
      read(100n),
      () => ({ status: "applied" }),
      async () => {
        throw new Error("provider down");
      },
    );
    expect(r).toMatchObject({ rereads: 0, reapplied: 0, settled: false, error: "provider down" });
    expect(r.last.status).toBe("applied");
  });
});
