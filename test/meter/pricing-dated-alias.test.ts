// What a tester found in 22ae0b8 (DeepSeek API aliases, dated aliases): the probes of branch
// test-prices (9bf4523) and the rest of the report, each as a kind.
import { describe, expect, it } from "vitest";
import {
  clearTablePriceCache,
  createPricer,
  DATED_PRICE_VERSION,
  findTablePrice,
  findTablePriceUncachedRates,
  parsePriceOverrides,
  TABLE_VERSION,
  tableVersionOf,
} from "../../src/meter/pricing.js";
import type { CostMode, ParsedUsage } from "../../src/meter/types.js";
import { parsedUsage } from "../support/meter-env.js";

const FALLBACK = { input: "15", output: "75", cacheRead: "1.5", cacheWrite: "18.75" };
const io = (r: ReturnType<typeof findTablePrice>) =>
  r ? [r.input.base, r.cacheRead.base, r.output.base] : null;
const t = (iso: string) => Date.parse(iso);
/** DeepSeek-V4-Flash before 2026-08-17: one flat price all day (api-docs.deepseek.com/quick_start/pricing). */
const V4_FLASH_FLAT = [140_000n, 2_800n, 280_000n];
const V32 = [280_000n, 28_000n, 420_000n];
const pricer = (mode: CostMode = "calculate", overrides: unknown = {}) =>
  createPricer({ mode, overrides: parsePriceOverrides(overrides, "t"), fallback: FALLBACK });
/** The tester's line: 1M input, 2M cache read, 3M output, a $0 OpenClaw estimate. */
const line = (over: Partial<ParsedUsage> & Pick<ParsedUsage, "provider" | "model">): ParsedUsage =>
  parsedUsage({
    api: "openai-completions",
    input: 1_000_000,
    cacheRead: 2_000_000,
    output: 3_000_000,
    recordedCostUsd: 0,
    ...over,
  });
const usd = (s: string) => BigInt(Math.round(Number(s) * 1e6)) * 1_000_000n;

describe("DeepSeek deepseek-chat / deepseek-reasoner (22ae0b8)", () => {
  it("V4-Flash era, inside 01:00-04:00 / 06:00-10:00 UTC, is V4-Flash's flat launch price, not the 2026-08-17 peak price", () => {
    clearTablePriceCache();
    expect(io(findTablePrice("deepseek", "deepseek-chat", t("2026-05-01T07:00:00Z")))).toEqual(V4_FLASH_FLAT);
    expect(io(findTablePrice("deepseek", "deepseek-reasoner", t("2026-06-10T02:00:00Z")))).toEqual(
      V4_FLASH_FLAT,
    );
    for (const iso of ["2026-05-01T07:00:00Z", "2026-05-01T02:00:00Z", "2026-05-01T12:00:00Z"])
      expect(
        pricer().price(line({ provider: "deepseek", model: "deepseek-chat", messageTsMs: t(iso) })),
      ).toMatchObject({ costPicoUsd: usd("0.9856"), version: DATED_PRICE_VERSION });
    expect(
      pricer("auto").price(
        line({ provider: "deepseek", model: "deepseek-reasoner", messageTsMs: t("2026-06-10T08:30:00Z") }),
      ).costPicoUsd,
    ).toBe(usd("0.9856"));
    // after the names' retirement (2026-07-24 15:59 UTC) a proxy that kept them: flat until V4's
    // peak / off-peak prices began (2026-08-17), the table's V4-Flash from then
    expect(io(findTablePrice("litellm", "deepseek-chat", t("2026-08-10T07:00:00Z")))).toEqual(V4_FLASH_FLAT);
    expect(io(findTablePrice("deepseek", "deepseek-chat", t("2026-08-18T07:00:00Z")))).toEqual(
      io(findTablePrice("deepseek", "deepseek-v4-flash", t("2026-08-18T07:00:00Z"))),
    );
  });
  it("V4-Flash launch (2026-04-24) until the cache-hit cut (2026-04-26 12:15 UTC): cache hit $0.028", () => {
    clearTablePriceCache();
    expect(io(findTablePrice("deepseek", "deepseek-chat", t("2026-04-25T12:00:00Z")))).toEqual([
      140_000n,
      28_000n,
      280_000n,
    ]);
    expect(
      io(findTablePriceUncachedRates("deepseek", "deepseek-reasoner", t("2026-04-26T12:14:59.999Z"))),
    ).toEqual([140_000n, 28_000n, 280_000n]);
    expect(io(findTablePrice("deepseek", "deepseek-reasoner", t("2026-04-26T12:15:00Z")))).toEqual(
      V4_FLASH_FLAT,
    );
    expect(
      pricer().price(
        line({ provider: "deepseek", model: "deepseek-chat", messageTsMs: t("2026-04-25T07:00:00Z") }),
      ).costPicoUsd,
    ).toBe(usd("1.036"));
  });
  it("a bare deepseek-chat behind a provider the table does not know is dated too", () => {
    clearTablePriceCache();
    expect(io(findTablePrice("litellm", "deepseek-chat", t("2025-10-20T10:00:00Z")))).toEqual(V32);
    expect(io(findTablePrice("my-proxy", "deepseek-reasoner", t("2025-10-20T10:00:00Z")))).toEqual(V32);
    expect(
      pricer().price(
        line({ provider: "litellm", model: "deepseek-chat", messageTsMs: t("2025-10-20T10:00:00Z") }),
      ),
    ).toMatchObject({ costPicoUsd: usd("1.596"), version: DATED_PRICE_VERSION, unknownModel: false });
    // the same kind for Mistral's -latest aliases: Large 3 after 2025-12-02, not Large 2.1
    const q = pricer().price(
      parsedUsage({
        provider: "litellm",
        model: "Mistral-Large-Latest",
        input: 1_000_000,
        messageTsMs: t("2026-01-10T00:00:00Z"),
      }),
    );
    expect(q).toMatchObject({ costPicoUsd: usd("0.5"), version: `${TABLE_VERSION}+dated-alias` });
    // before its first date the table's own mapping (Large 2.1)
    expect(io(findTablePrice("litellm", "mistral-large-latest", t("2025-11-01T00:00:00Z")))).toEqual(
      io(findTablePrice("mistral", "mistral-large-latest", t("2025-11-01T00:00:00Z"))),
    );
  });
  it("provider deepseek with a vendor-prefixed id (deepseek/deepseek-chat) is dated", () => {
    clearTablePriceCache();
    expect(io(findTablePrice("deepseek", "deepseek/deepseek-chat", t("2025-10-20T10:00:00Z")))).toEqual(V32);
    expect(io(findTablePrice("DeepSeek", " DeepSeek/DeepSeek-Reasoner ", t("2026-05-01T07:00:00Z")))).toEqual(
      V4_FLASH_FLAT,
    );
  });
  it("routers the table knows keep their own listing; other known providers' bare names are the table's", () => {
    clearTablePriceCache();
    for (const [p, m] of [
      ["openrouter", "deepseek/deepseek-chat"],
      ["together", "deepseek-chat"],
      ["azure", "deepseek-chat"],
    ] as const) {
      const before = findTablePriceUncachedRates(p, m, t("2025-10-20T10:00:00Z"));
      expect(io(findTablePrice(p, m, t("2026-05-01T10:00:00Z")))).toEqual(io(before));
      if (before) expect(tableVersionOf(before)).not.toContain("dated-alias");
    }
  });
  it("prices a line the same whatever was metered before it (served-model answers per era)", () => {
    const reasoner = (iso: string) =>
      line({
        provider: "deepseek",
        model: "deepseek-reasoner",
        responseModel: "deepseek-chat",
        messageTsMs: t(iso),
      });
    const early = reasoner("2025-09-01T10:00:00Z");
    const late = reasoner("2025-10-20T10:00:00Z");
    const alone = pricer().price(early);
    expect(alone).toMatchObject({
      costPicoUsd: usd("3.71"),
      version: `${TABLE_VERSION}+served:deepseek-chat`,
    });
    for (const order of [
      [late, early],
      [early, late, early],
    ]) {
      const p = pricer();
      const got = order.map((u) => p.price(u));
      expect(got.at(-1)).toEqual(alone);
      expect(p.price(late)).toMatchObject({ costPicoUsd: usd("1.596"), version: DATED_PRICE_VERSION });
    }
  });
  it("every re-dated row says +dated-alias; the table's own era says nothing more", () => {
    clearTablePriceCache();
    const v = (iso: string, model = "deepseek-chat") => {
      const r = findTablePrice("deepseek", model, t(iso));
      return r ? tableVersionOf(r) : null;
    };
    expect(v("2025-06-01T12:00:00Z")).toBe(TABLE_VERSION);
    for (const iso of [
      "2025-09-10T12:00:00Z",
      "2025-10-20T12:00:00Z",
      "2026-04-25T12:00:00Z",
      "2026-05-01T07:00:00Z",
    ])
      expect(v(iso)).toBe(DATED_PRICE_VERSION);
    expect(v("2026-08-18T07:00:00Z")).toBe(`${TABLE_VERSION}+dated-alias`);
    // the model itself, by its own name, is the table's plain row
    expect(v("2026-08-18T07:00:00Z", "deepseek-v4-flash")).toBe(TABLE_VERSION);
  });
  it("creditgate's era prices cannot be named from a transcript", () => {
    clearTablePriceCache();
    for (const [p, m] of [
      ["deepseek", "deepseek-api-v3.1@dated"],
      ["litellm", "deepseek/deepseek-api-v3.2@dated"],
      ["deepseek", "deepseek-v3.1"],
    ] as const) {
      expect(findTablePrice(p, m, t("2025-10-20T10:00:00Z")), `${p}/${m}`).toBeNull();
      expect(
        pricer().price(line({ provider: p, model: m, messageTsMs: t("2025-10-20T10:00:00Z") })),
      ).toMatchObject({
        source: "fallback",
        unknownModel: true,
      });
    }
  });
  it("before the night discount (2025-02-26 16:30 UTC): V3's promotion until 2025-02-08 16:00 UTC, then full price all day; R1 at launch price", () => {
    clearTablePriceCache();
    const chat = (iso: string) => io(findTablePrice("deepseek", "deepseek-chat", t(iso)));
    const r1 = (iso: string) => io(findTablePrice("deepseek", "deepseek-reasoner", t(iso)));
    expect(chat("2025-01-15T10:00:00Z")).toEqual([140_000n, 14_000n, 280_000n]);
    expect(chat("2025-02-08T15:59:59.999Z")).toEqual([140_000n, 14_000n, 280_000n]);
    expect(chat("2025-02-08T16:00:00Z")).toEqual([270_000n, 70_000n, 1_100_000n]);
    expect(chat("2025-02-20T20:00:00Z")).toEqual([270_000n, 70_000n, 1_100_000n]); // night, no discount yet
    expect(chat("2025-02-26T16:29:59.999Z")).toEqual([270_000n, 70_000n, 1_100_000n]);
    expect(chat("2025-02-26T16:30:00Z")).toEqual([135_000n, 35_000n, 550_000n]); // the table's night price
    expect(r1("2025-02-20T20:00:00Z")).toEqual([550_000n, 140_000n, 2_190_000n]);
    expect(r1("2025-02-26T20:00:00Z")).toEqual([135_000n, 35_000n, 550_000n]);
    expect(
      pricer().price(
        line({ provider: "deepseek", model: "deepseek-chat", messageTsMs: t("2025-01-15T10:00:00Z") }),
      ),
    ).toMatchObject({ costPicoUsd: usd("1.008"), version: DATED_PRICE_VERSION });
  });
  it("an operator override of the alias name still wins", () => {
    const p = pricer("calculate", {
      "deepseek/deepseek-chat": { input: "1", output: "1", cacheRead: "1", cacheWrite: "1" },
    });
    expect(
      p.price(line({ provider: "deepseek", model: "deepseek-chat", messageTsMs: t("2026-05-01T07:00:00Z") })),
    ).toMatchObject({
      source: "override",
      costPicoUsd: usd("6"),
    });
  });
});

describe("DeepSeek-V4-Flash by its own name, and as the model that answered (a second tester, 2026-12-02)", () => {
  it("a deepseek-chat call answered as deepseek-v4-flash is priced as the alias's era, not the table's later peak", () => {
    clearTablePriceCache();
    for (const [provider, model, iso] of [
      ["deepseek", "deepseek-chat", "2026-05-01T07:00:00Z"],
      ["deepseek", "deepseek-reasoner", "2026-05-01T02:00:00Z"],
      ["litellm", "deepseek-chat", "2026-06-10T08:30:00Z"],
    ] as const) {
      const q = pricer().price(
        line({ provider, model, messageTsMs: t(iso), responseModel: "deepseek-v4-flash" }),
      );
      expect([q.costPicoUsd, q.version]).toEqual([usd("0.9856"), DATED_PRICE_VERSION]);
    }
    // an override of the requested model still wins over the served model's price
    const o = pricer("calculate", {
      "deepseek/deepseek-chat": { input: "1", output: "1", cacheRead: "0.5", cacheWrite: "1" },
    }).price(
      line({
        provider: "deepseek",
        model: "deepseek-chat",
        messageTsMs: t("2026-05-01T07:00:00Z"),
        responseModel: "deepseek-v4-flash",
      }),
    );
    expect(o.costPicoUsd).toBe(usd("5"));
  });
  it("deepseek-v4-flash on DeepSeek's API before 2026-08-17 is flat all day; from then the table's peak / off-peak", () => {
    clearTablePriceCache();
    expect(io(findTablePrice("deepseek", "deepseek-v4-flash", t("2026-05-01T07:00:00Z")))).toEqual(
      V4_FLASH_FLAT,
    );
    expect(io(findTablePrice("deepseek", "deepseek-v4-flash", t("2026-05-01T12:00:00Z")))).toEqual(
      V4_FLASH_FLAT,
    );
    expect(io(findTablePrice("deepseek", "deepseek-v4-flash", t("2026-04-25T07:00:00Z")))).toEqual([
      140_000n,
      28_000n,
      280_000n,
    ]);
    const peak = findTablePrice("deepseek", "deepseek-v4-flash", t("2026-08-18T07:00:00Z"));
    const offPeak = findTablePrice("deepseek", "deepseek-v4-flash", t("2026-08-18T12:00:00Z"));
    expect(io(peak)).not.toEqual(io(offPeak));
  });
});
