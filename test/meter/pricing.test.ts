import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { calcPrice } from "@pydantic/genai-prices";
import { describe, expect, it, onTestFinished } from "vitest";
import { AppError, ErrorCode } from "../../src/errors.js";
import { parseLine } from "../../src/meter/parse.js";
import {
  CORRECTED_TABLE_VERSION,
  clearTablePriceCache,
  createPricer,
  DATED_PRICE_VERSION,
  FINE_TUNED_TABLE_VERSION,
  findTablePrice,
  findTablePriceUncachedRates,
  GATEWAY_PROVIDERS,
  loadPriceOverrides,
  modelResourceBase,
  OPENROUTER_FREE_VERSION,
  type PriceOverrides,
  parsePriceOverrides,
  SUPPLEMENT_TABLE_VERSION,
  TABLE_VERSION,
  tableEntryOf,
  versionRespelled,
} from "../../src/meter/pricing.js";
import type { CostMode, ParsedUsage } from "../../src/meter/types.js";
import { usdFloatToPico } from "../../src/money.js";
import { parsedUsage } from "../support/meter-env.js";

const FALLBACK = { input: "15", output: "75", cacheRead: "1.5", cacheWrite: "18.75" };
const NO_OVERRIDES = parsePriceOverrides({}, "none");
const MOCK_PRICES = { input: "3", output: "15", cacheRead: "0.3", cacheWrite: "3.75" };
const JUN_2026 = Date.UTC(2026, 5, 1, 12);

const usage = (over: Partial<ParsedUsage> = {}): ParsedUsage =>
  parsedUsage({
    provider: "mock",
    model: "mock-gpt",
    api: "openai-completions",
    messageTsMs: JUN_2026,
    ...over,
  });

function pricer(mode: CostMode = "calculate", overrides: PriceOverrides = NO_OVERRIDES) {
  return createPricer({ mode, overrides, fallback: FALLBACK });
}

/** The package's own float total; its `input_tokens` includes cache tokens, ours does not. */
function packageUsd(u: ParsedUsage, providerId: string): number {
  const r = calcPrice(
    {
      input_tokens: u.input + u.cacheRead + u.cacheWrite,
      output_tokens: u.output,
      cache_read_tokens: u.cacheRead,
      cache_write_tokens: u.cacheWrite,
    },
    u.model,
    { providerId, timestamp: new Date(u.messageTsMs) },
  );
  if (!r) throw new Error(`package has no price for ${providerId}/${u.model}`);
  return r.total_price;
}

function tempFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "creditgate-pricing-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

// The fixture line from the OpenClaw reference (§2.3): cost.total 0.0069018.
const FIXTURE = usage({ input: 1112, output: 47, cacheRead: 9536, recordedCostUsd: 0.0069018 });

describe("overrides", () => {
  const overrides = parsePriceOverrides({ "mock/mock-gpt": MOCK_PRICES }, "prices.json");

  it("prices an overridden model exactly, token class by token class", () => {
    const q = pricer("calculate", overrides).price(FIXTURE);
    expect(q.costPicoUsd).toBe(3_336_000_000n + 705_000_000n + 2_860_800_000n);
    expect(q.costPicoUsd).toBe(usdFloatToPico(0.0069018));
    expect(q).toMatchObject({ source: "override", version: overrides.version, unknownModel: false });
    expect(overrides.version).toMatch(/^overrides:[0-9a-f]{12}$/);
  });

  it("gives each call its own model's override when consecutive calls switch models (the last lookup is reused only for the same texts)", () => {
    const o = parsePriceOverrides(
      {
        "mock/mock-gpt": MOCK_PRICES,
        "ollama/*": { input: "0", output: "0", cacheRead: "0", cacheWrite: "0" },
        "ollama/big": { input: "1", output: "1", cacheRead: "1", cacheWrite: "1" },
      },
      "prices.json",
    );
    const p = pricer("calculate", o);
    const cost = (provider: string, model: string) =>
      p.price(usage({ provider, model, input: 1000 })).costPicoUsd;
    const sequence: [string, string, bigint][] = [
      ["mock", "mock-gpt", 3_000_000_000n],
      ["mock", "mock-gpt", 3_000_000_000n],
      ["ollama", "big", 1_000_000_000n],
      ["ollama", "small", 0n],
      ["ollama", "big", 1_000_000_000n],
      ["OLLAMA", "BIG", 1_000_000_000n],
      ["mock", "mock-gpt", 3_000_000_000n],
      ["mock", "other", 15_000_000_000n], // no override: the fallback's $15/MTok
      ["mock", "mock-gpt", 3_000_000_000n],
    ];
    for (const [provider, model, want] of sequence)
      expect(cost(provider, model), `${provider}/${model}`).toBe(want);
  });

  it("matches provider/model case-insensitively, then a provider/* wildcard", () => {
    const o = parsePriceOverrides(
      {
        "Mock/Mock-GPT": MOCK_PRICES,
        "ollama/*": { input: "0", output: "0", cacheRead: "0", cacheWrite: "0" },
        "ollama/big": { input: "1", output: "1", cacheRead: "1", cacheWrite: "1" },
      },
      "prices.json",
    );
    const p = pricer("calculate", o);
    expect(p.price(usage({ provider: "MOCK", model: "mock-gpt", input: 1000 })).costPicoUsd).toBe(
      3_000_000_000n,
    );
    expect(p.price(usage({ provider: "ollama", model: "llama3.1:8b", input: 1000 }))).toMatchObject({
      costPicoUsd: 0n,
      source: "override",
      unknownModel: false,
    });
    expect(p.price(usage({ provider: "ollama", model: "big", input: 1000 })).costPicoUsd).toBe(
      1_000_000_000n,
    );
  });

  it("beats the table for a model the table knows", () => {
    const o = parsePriceOverrides({ "openai/*": MOCK_PRICES }, "prices.json");
    const q = pricer("calculate", o).price(usage({ provider: "openai", model: "gpt-4o", input: 1000 }));
    expect(q).toMatchObject({ costPicoUsd: 3_000_000_000n, source: "override" });
  });

  it("applies an override tier to the whole call when total input tokens exceed its threshold", () => {
    const o = parsePriceOverrides(
      {
        "mock/long": {
          ...MOCK_PRICES,
          tiers: [
            { aboveInputTokens: 200_000, input: "6", output: "22.5", cacheRead: "0.6", cacheWrite: "7.5" },
          ],
        },
      },
      "prices.json",
    );
    const p = pricer("calculate", o);
    // 150 000 + 50 000 cached = 200 000: not above the threshold.
    expect(p.price(usage({ model: "long", input: 150_000, cacheRead: 50_000, output: 10 })).costPicoUsd).toBe(
      150_000n * 3_000_000n + 50_000n * 300_000n + 10n * 15_000_000n,
    );
    expect(p.price(usage({ model: "long", input: 150_001, cacheRead: 50_000, output: 10 })).costPicoUsd).toBe(
      150_001n * 6_000_000n + 50_000n * 600_000n + 10n * 22_500_000n,
    );
  });

  it("accepts numbers and decimal strings alike, with one version for equivalent files", () => {
    const a = parsePriceOverrides({ "mock/mock-gpt": MOCK_PRICES }, "a.json");
    const b = parsePriceOverrides(
      { "MOCK/mock-gpt": { cacheWrite: 3.75, cacheRead: "0.30", output: 15, input: "3.0" } },
      "b.json",
    );
    const c = parsePriceOverrides({ "mock/mock-gpt": { ...MOCK_PRICES, output: "15.000001" } }, "c.json");
    expect(b.version).toBe(a.version);
    expect(c.version).not.toBe(a.version);
    expect(pricer("calculate", b).price(FIXTURE).costPicoUsd).toBe(6_901_800_000n);
  });

  it("reports every problem of a bad file at once, naming the file and each JSON path", () => {
    const path = tempFile(
      "prices.json",
      JSON.stringify({
        "no-slash": MOCK_PRICES,
        "a/b": {
          input: -1,
          output: "1.1234567",
          cacheRead: "cheap",
          cache_write: "1",
          tiers: [
            { ...MOCK_PRICES, aboveInputTokens: 1.5 },
            { ...MOCK_PRICES, aboveInputTokens: 9 },
            { ...MOCK_PRICES, aboveInputTokens: 9 },
          ],
        },
        "A/B": MOCK_PRICES,
        "c/d": [],
      }),
    );
    let err: unknown;
    try {
      loadPriceOverrides(path);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe(ErrorCode.InvalidConfig);
    const lines = (err as AppError).message.split("\n");
    expect(lines[0]).toBe(`invalid price overrides in ${path}:`);
    for (const expected of [
      '$["no-slash"]: bad key: must be "<provider>/<model>" or "<provider>/*"',
      '$["a/b"].input: must be a non-negative decimal, got -1',
      '$["a/b"].output: more than 6 decimals: 1.1234567',
      '$["a/b"].cacheRead: must be a non-negative decimal, got "cheap"',
      '$["a/b"].cacheWrite: required',
      '$["a/b"]: Unrecognized key: "cache_write"',
      '$["a/b"].tiers[0].aboveInputTokens: must be a whole number of tokens',
      '$["a/b"].tiers[2].aboveInputTokens: duplicate tier threshold',
      '$["A/B"]: duplicate key (keys are case-insensitive)',
      '$["c/d"]: Invalid input: expected object, received array',
    ]) {
      expect(lines).toContain(`  ${expected}`);
    }
  });

  it("names the file when it is missing or not JSON, and gives no overrides when none is configured", () => {
    const bad = tempFile("prices.json", "{ not json");
    expect(() => loadPriceOverrides(bad)).toThrow(`cannot read price overrides ${bad}`);
    expect(() => loadPriceOverrides("/nonexistent/prices.json")).toThrow("/nonexistent/prices.json");
    expect(loadPriceOverrides(null).byKey.size).toBe(0);
    const good = tempFile("prices.json", JSON.stringify({ "mock/mock-gpt": MOCK_PRICES }));
    expect(loadPriceOverrides(good).version).toBe(
      parsePriceOverrides({ "mock/mock-gpt": MOCK_PRICES }, "x").version,
    );
  });
});

describe("genai-prices table", () => {
  it.each([
    // Sonnet 4's entry carries a price correction (its long-context tier), hence the version.
    ["anthropic", "claude-sonnet-4-20250514", CORRECTED_TABLE_VERSION],
    ["openai", "gpt-4o", TABLE_VERSION],
    ["google", "gemini-2.5-flash", TABLE_VERSION],
  ])(
    "prices %s/%s exactly and within 1e-9 USD of the package's own float total",
    (provider, model, version) => {
      const u = usage({ provider, model, input: 1_234, output: 567, cacheRead: 40_000, cacheWrite: 5_003 });
      const q = pricer().price(u);
      expect(q).toMatchObject({ source: "table", version, unknownModel: false });
      expect(typeof q.costPicoUsd).toBe("bigint");
      expect(Math.abs(Number(q.costPicoUsd) / 1e12 - packageUsd(u, provider))).toBeLessThan(1e-9);
    },
  );

  it("prices cache reads and writes at their own rates (claude-sonnet-4: 3 / 15 / 0.3 / 3.75)", () => {
    const q = pricer().price(
      usage({
        provider: "anthropic",
        model: "claude-sonnet-4-20250514",
        input: 1_200,
        output: 350,
        cacheRead: 40_000,
        cacheWrite: 5_000,
      }),
    );
    expect(q.costPicoUsd).toBe(
      1_200n * 3_000_000n + 350n * 15_000_000n + 40_000n * 300_000n + 5_000n * 3_750_000n,
    );
  });

  it("reads the table version from the installed package", () => {
    expect(TABLE_VERSION).toMatch(/^@pydantic\/genai-prices@\d+\.\d+\.\d+/);
  });

  it("uses the base rate up to 200k total input tokens and the tier rate for the whole call above (gemini-2.5-pro)", () => {
    const p = pricer();
    const at = usage({
      provider: "google",
      model: "gemini-2.5-pro",
      input: 150_000,
      cacheRead: 50_000,
      output: 1_000,
    });
    const above = { ...at, input: 150_001 };
    expect(p.price(at).costPicoUsd).toBe(150_000n * 1_250_000n + 50_000n * 125_000n + 1_000n * 10_000_000n);
    expect(p.price(above).costPicoUsd).toBe(
      150_001n * 2_500_000n + 50_000n * 250_000n + 1_000n * 15_000_000n,
    );
    for (const u of [at, above]) {
      expect(Math.abs(Number(p.price(u).costPicoUsd) / 1e12 - packageUsd(u, "google"))).toBeLessThan(1e-9);
    }
  });

  it("uses the price in effect at the call's timestamp", () => {
    const p = pricer();
    // o3 went from 10/40 to 2/8 USD per MTok on 2025-06-10.
    const o3 = usage({ provider: "openai", model: "o3", input: 1_000, output: 100 });
    expect(p.price({ ...o3, messageTsMs: Date.UTC(2025, 5, 9) }).costPicoUsd).toBe(14_000_000_000n);
    expect(p.price({ ...o3, messageTsMs: Date.UTC(2025, 5, 10) }).costPicoUsd).toBe(2_800_000_000n);
    // claude-sonnet-4-6 had a >200k tier until 2026-03-13, flat pricing after.
    const long = usage({ provider: "anthropic", model: "claude-sonnet-4-6", input: 250_000, output: 1_000 });
    expect(p.price({ ...long, messageTsMs: Date.UTC(2026, 2, 12) }).costPicoUsd).toBe(
      250_000n * 6_000_000n + 1_000n * 22_500_000n,
    );
    expect(p.price({ ...long, messageTsMs: Date.UTC(2026, 2, 13) }).costPicoUsd).toBe(
      250_000n * 3_000_000n + 1_000n * 15_000_000n,
    );
  });

  it.each([
    ["openai-codex", "gpt-4o", "openai", "gpt-4o"],
    ["azure-openai-responses", "gpt-4o", "azure", "gpt-4o"],
    ["google-gemini-cli", "gemini-2.5-pro", "google", "gemini-2.5-pro"],
    ["google-antigravity", "gemini-2.5-flash", "google", "gemini-2.5-flash"],
    ["google-vertex", "claude-sonnet-4@20250514", "anthropic", "claude-sonnet-4-20250514"],
    ["amazon-bedrock", "us.anthropic.claude-sonnet-4-20250514-v1:0", "anthropic", "claude-sonnet-4-20250514"],
    ["xai", "grok-4", "x-ai", "grok-4"],
    ["moonshot", "kimi-k2-thinking", "moonshotai", "kimi-k2-thinking"],
    ["openrouter", "anthropic/claude-sonnet-4", "anthropic", "claude-sonnet-4"],
    ["vercel-ai-gateway", "anthropic/claude-sonnet-4", "anthropic", "claude-sonnet-4"],
    ["opencode", "claude-sonnet-4-5", "anthropic", "claude-sonnet-4-5"],
  ])("prices OpenClaw's %s/%s from the table like %s/%s", (provider, model, tableProvider, tableModel) => {
    const p = pricer();
    const tokens = { input: 10_000, output: 2_000, cacheRead: 30_000, cacheWrite: 1_000 };
    const q = p.price(usage({ provider, model, ...tokens }));
    expect(q).toMatchObject({ source: "table", unknownModel: false });
    const direct = usage({ provider: tableProvider, model: tableModel, ...tokens });
    expect(q.costPicoUsd).toBe(p.price(direct).costPicoUsd);
  });
});

describe("unknown models and cost modes", () => {
  const unknown = usage({ input: 1_000, output: 100, cacheRead: 2_000, cacheWrite: 10 });
  const atFallback = 1_000n * 15_000_000n + 100n * 75_000_000n + 2_000n * 1_500_000n + 10n * 18_750_000n;

  it("calculate: prices an unknown model at the fallback rates and flags it", () => {
    expect(pricer("calculate").price({ ...unknown, recordedCostUsd: 0.5 })).toEqual({
      costPicoUsd: atFallback,
      source: "fallback",
      version: "fallback:15,75,1.5,18.75",
      unknownModel: true,
    });
  });

  it("never bills a table entry without token prices at $0 (Copilot-included)", () => {
    expect(
      pricer("calculate").price({ ...unknown, provider: "github-copilot", model: "gpt-4o" }),
    ).toMatchObject({
      costPicoUsd: atFallback,
      source: "fallback",
      unknownModel: true,
    });
  });

  it("bills OpenRouter's free variants ($0 per OpenRouter's docs) at $0, known, in every mode", () => {
    for (const mode of ["calculate", "auto", "recorded"] as const) {
      for (const model of ["deepseek/deepseek-chat-v3-0324:free", "Some/New-Model:FREE", "openrouter/free"]) {
        expect(pricer(mode).price({ ...unknown, provider: "openrouter", model, recordedCostUsd: 0 })).toEqual(
          {
            costPicoUsd: 0n,
            source: "table",
            version: OPENROUTER_FREE_VERSION,
            unknownModel: false,
            tableCostPicoUsd: 0n,
          },
        );
      }
    }
    // only on OpenRouter: another provider's `:free`-looking id is not assumed free
    expect(pricer("calculate").price({ ...unknown, provider: "acme", model: "x:free" })).toMatchObject({
      source: "fallback",
      unknownModel: true,
    });
  });

  it("prices an OpenRouter routing variant (:nitro, :floor, :exacto, :online) as its base model", () => {
    const at = Date.parse("2026-03-03T19:20:00Z");
    const base = findTablePriceUncachedRates("openrouter", "openai/gpt-4o", at);
    expect(base).not.toBeNull();
    for (const v of [":nitro", ":floor", ":exacto", ":online", ":NITRO"]) {
      expect(findTablePriceUncachedRates("openrouter", `openai/gpt-4o${v}`, at)).toEqual(base);
      const q = pricer("calculate").price({ ...unknown, provider: "openrouter", model: `openai/gpt-4o${v}` });
      expect(q).toMatchObject({ source: "table", unknownModel: false });
    }
    // OpenRouter's own price for the base model comes before the maker's price for the variant id
    expect(findTablePriceUncachedRates("openrouter", "deepseek/deepseek-r1:nitro", at)).toEqual(
      findTablePriceUncachedRates("openrouter", "deepseek/deepseek-r1", at),
    );
    // not another suffix, not another provider, not an unknown base
    // (`:extended` is another model: the table's own entry, not the base price)
    expect(findTablePriceUncachedRates("openrouter", "openai/gpt-4o:extended", at)).not.toEqual(base);
    expect(findTablePriceUncachedRates("openrouter", "openai/gpt-4o-mini:extended", at)).toBeNull();
    expect(findTablePriceUncachedRates("acme", "openai/gpt-4o:nitro", at)).toBeNull();
    expect(findTablePriceUncachedRates("openrouter", "brand-new/model-x:nitro", at)).toBeNull();
    // an override of the base model applies to its variants; the variant's own override wins
    const prices = { input: "1", output: "2", cacheRead: "0.5", cacheWrite: "0" };
    const p = createPricer({
      mode: "calculate",
      overrides: parsePriceOverrides(
        { "openrouter/openai/gpt-4o": prices, "openrouter/openai/gpt-4o:floor": { ...prices, output: "4" } },
        "prices.json",
      ),
      fallback: FALLBACK,
    });
    const u = { ...unknown, provider: "openrouter", input: 1_000, output: 100, cacheRead: 0, cacheWrite: 0 };
    expect(p.price({ ...u, model: "openai/gpt-4o:nitro" })).toMatchObject({
      source: "override",
      costPicoUsd: 1_200_000_000n,
    });
    expect(p.price({ ...u, model: "openai/gpt-4o:floor" })).toMatchObject({
      source: "override",
      costPicoUsd: 1_400_000_000n,
    });
  });

  it("prices a Google / Vertex resource name (models/…, publishers/…/models/…) as its model id", () => {
    const at = Date.parse("2026-06-01T07:46:45Z");
    const flash = findTablePriceUncachedRates("google", "gemini-2.5-flash", at);
    const pro = findTablePriceUncachedRates("google-vertex", "gemini-2.5-pro", at);
    const sonnet = findTablePriceUncachedRates("anthropic-vertex", "claude-sonnet-4-5@20250929", at);
    expect(flash && pro && sonnet).not.toBeNull();
    expect(modelResourceBase("models/gemini-2.5-flash")).toBe("gemini-2.5-flash");
    expect(findTablePriceUncachedRates("google", "models/gemini-2.5-flash", at)).toEqual(flash);
    expect(findTablePriceUncachedRates("google-gemini-cli", "models/gemini-2.5-flash", at)).toEqual(flash);
    for (const m of [
      "publishers/google/models/gemini-2.5-pro",
      "projects/my-proj/locations/us-central1/publishers/google/models/gemini-2.5-pro",
    ]) {
      expect(findTablePriceUncachedRates("google-vertex", m, at)).toEqual(pro);
    }
    expect(
      findTablePriceUncachedRates(
        "anthropic-vertex",
        "publishers/anthropic/models/claude-sonnet-4-5@20250929",
        at,
      ),
    ).toEqual(sonnet);
    // only that shape: a vendor/model id or another path keeps its own lookup
    expect(modelResourceBase("google/gemini-2.5-flash")).toBeNull();
    expect(modelResourceBase("models/")).toBeNull();
    expect(modelResourceBase("tunedModels/my-model")).toBeNull();
    expect(findTablePriceUncachedRates("google", "models/brand-new-model", at)).toBeNull();
    // an override of the model id applies to its resource name; its own override wins
    const prices = { input: "1", output: "2", cacheRead: "0.5", cacheWrite: "0" };
    const p = createPricer({
      mode: "calculate",
      overrides: parsePriceOverrides(
        { "google/gemini-2.5-flash": prices, "google/models/gemini-2.5-pro": { ...prices, output: "4" } },
        "prices.json",
      ),
      fallback: FALLBACK,
    });
    const u = { ...unknown, provider: "google", input: 1_000, output: 100, cacheRead: 0, cacheWrite: 0 };
    expect(p.price({ ...u, model: "models/gemini-2.5-flash" })).toMatchObject({
      source: "override",
      costPicoUsd: 1_200_000_000n,
    });
    expect(p.price({ ...u, model: "models/gemini-2.5-pro" })).toMatchObject({
      source: "override",
      costPicoUsd: 1_400_000_000n,
    });
  });

  it("prices OpenClaw's cloudflare-ai-gateway (an Anthropic passthrough) by the model, not Workers AI's table", () => {
    const at = Date.parse("2026-06-01T07:46:45Z");
    for (const m of ["claude-sonnet-4-6", "claude-haiku-4-5", "anthropic/claude-sonnet-4-5"]) {
      const bare = m.replace(/^anthropic\//, "");
      expect(findTablePriceUncachedRates("cloudflare-ai-gateway", m, at)).toEqual(
        findTablePriceUncachedRates("anthropic", bare, at),
      );
      expect(findTablePriceUncachedRates("cloudflare-ai-gateway", m, at)).not.toBeNull();
    }
    expect(GATEWAY_PROVIDERS.has("cloudflare-ai-gateway")).toBe(true);
    // a Workers AI model through the gateway still finds Cloudflare's own price by its @cf/ id
    const llama = "@cf/meta/llama-3.3-70b-instruct-fp8-fast";
    expect(findTablePriceUncachedRates("cloudflare-ai-gateway", llama, at)).toEqual(
      findTablePriceUncachedRates("cloudflare", llama, at),
    );
    expect(findTablePriceUncachedRates("cloudflare", llama, at)).not.toBeNull();
    // other fuzzy matches are kept: they name the same product
    expect(findTablePriceUncachedRates("anthropic-vertex", "claude-sonnet-4-5@20250929", at)).not.toBeNull();
  });

  it("auto: an OpenAI call whose recorded estimate is a service tier's multiple of the list price is billed at that tier", () => {
    const at = Date.parse("2026-06-01T07:46:45Z");
    // gpt-5.2: $1.75 / $14 / $0.175 per 1M → 4000 in, 800 out, 20000 cached = $0.0217 list
    const list = 21_700_000_000n;
    const call = usage({
      provider: "openai",
      model: "gpt-5.2",
      api: "openai-responses",
      messageTsMs: at,
      input: 4_000,
      output: 800,
      cacheRead: 20_000,
      cacheWrite: 0,
    });
    expect(pricer("auto").price({ ...call, recordedCostUsd: 0.0217 })).toMatchObject({
      costPicoUsd: list,
      version: TABLE_VERSION,
    });
    for (const [usd, pico, tier] of [
      [0.0434, 43_400_000_000n, "priority"],
      [0.043400000000000001, 43_400_000_000n, "priority"],
      [0.01085, 10_850_000_000n, "flex"],
    ] as const) {
      for (const api of [
        "openai-responses",
        "openai-codex-responses",
        "azure-openai-responses",
        "openai-completions",
      ]) {
        expect(pricer("auto").price({ ...call, api, recordedCostUsd: usd })).toEqual({
          costPicoUsd: pico,
          source: "table",
          version: `${TABLE_VERSION}+service-tier:${tier}`,
          unknownModel: false,
          tableCostPicoUsd: pico,
        });
      }
    }
    // 2.5× is gpt-5.5's priority multiple only
    const gpt55 = { ...call, model: "gpt-5.5" };
    const list55 = pricer("calculate").price(gpt55).costPicoUsd;
    expect(list55).toBeGreaterThan(0n);
    expect(pricer("auto").price({ ...gpt55, recordedCostUsd: (Number(list55) * 2.5) / 1e12 })).toMatchObject({
      costPicoUsd: (list55 * 5n) / 2n,
      version: `${TABLE_VERSION}+service-tier:priority`,
    });
    // another ratio (2.5× on a model other than gpt-5.5), another API, no estimate, a provider-billed amount or calculate mode: as before
    for (const q of [
      pricer("auto").price({ ...call, recordedCostUsd: 0.05425 }),
      pricer("auto").price({ ...call, recordedCostUsd: 0.0217 * 1.5 }),
      pricer("auto").price({ ...call, recordedCostUsd: 0.0434 * 1.01 }),
      pricer("auto").price({ ...call, api: "anthropic-messages", recordedCostUsd: 0.0434 }),
      pricer("auto").price({ ...call, api: null, recordedCostUsd: 0.0434 }),
      pricer("auto").price({ ...call, recordedCostUsd: null }),
      pricer("calculate").price({ ...call, recordedCostUsd: 0.0434 }),
    ]) {
      expect(q).toMatchObject({ costPicoUsd: list, version: TABLE_VERSION });
    }
    expect(
      pricer("auto").price({ ...call, recordedCostUsd: 0.0434, recordedCostOrigin: "provider-billed" }),
    ).toMatchObject({ costPicoUsd: 43_400_000_000n, source: "provider-billed" });
    // flex on an odd pico-USD list price rounds up
    const odd = { ...call, input: 1, output: 0, cacheRead: 0 }; // 1,750,000 pico list
    expect(pricer("auto").price({ ...odd, input: 3, recordedCostUsd: 0.000002625 })).toMatchObject({
      costPicoUsd: 2_625_000n,
    });
  });

  it("auto: the service tier is read against the table's list price, never an override, and only on OpenAI calls", () => {
    const at = Date.parse("2026-06-01T07:46:45Z");
    const call = usage({
      provider: "openai",
      model: "gpt-5.2",
      api: "openai-responses",
      messageTsMs: at,
      input: 4_000,
      output: 800,
      cacheRead: 20_000,
      cacheWrite: 0,
    });
    // an operator's margin: overrides at 2× list ($0.0434 for this call) and at half of it
    const twice = { input: "3.5", output: "28", cacheRead: "0.35", cacheWrite: "0" };
    for (const key of ["openai/gpt-5.2", "openai/*"]) {
      const p = pricer("auto", parsePriceOverrides({ [key]: twice }, "prices.json"));
      // a standard call (OpenClaw's estimate = list) is billed the override, not half of it as "flex"
      expect(p.price({ ...call, recordedCostUsd: 0.0217 })).toMatchObject({
        costPicoUsd: 43_400_000_000n,
        source: "override",
      });
      expect(p.price({ ...call, recordedCostUsd: 0.0217 }).version).not.toContain("service-tier");
      // a priority call is billed the override × 2
      expect(p.price({ ...call, recordedCostUsd: 0.0434 })).toMatchObject({
        costPicoUsd: 86_800_000_000n,
        version: expect.stringContaining("+service-tier:priority"),
      });
    }
    const half = { input: "0.875", output: "7", cacheRead: "0.0875", cacheWrite: "0" };
    const ph = pricer("auto", parsePriceOverrides({ "openai/gpt-5.2": half }, "prices.json"));
    expect(ph.price({ ...call, recordedCostUsd: 0.0217 })).toMatchObject({ costPicoUsd: 10_850_000_000n });
    // DeepSeek's off-peak half price (2025, 16:30–00:30 UTC) against OpenClaw's standard-price
    // estimate: no OpenAI tier, billed the off-peak list price, not twice it as "priority"
    const ds = {
      ...call,
      provider: "deepseek",
      model: "deepseek-chat",
      api: "openai-completions",
      cacheRead: 0,
      messageTsMs: Date.parse("2025-06-01T17:00:00Z"),
    };
    const offPeak = pricer("calculate").price(ds).costPicoUsd;
    expect(offPeak).toBe(980_000_000n);
    expect(pricer("auto").price({ ...ds, recordedCostUsd: 0.00196 })).toMatchObject({ costPicoUsd: offPeak });
    // a corrected line (writtenInput) or a call priced as its served model: the estimate is of
    // other counts / another model's rates (gpt-5.5 lists at exactly 2× gpt-5.4)
    expect(
      pricer("auto").price({ ...call, writtenInput: 24_000, recordedCostUsd: 0.0434 }).version,
    ).not.toContain("service-tier");
    const served = {
      ...call,
      model: "gpt-5.5",
      responseModel: "gpt-5.4",
      input: 1_000,
      output: 100,
      cacheRead: 0,
    };
    const q = pricer("auto").price({ ...served, recordedCostUsd: 0.008 }); // gpt-5.5's list estimate
    expect(q.version).not.toContain("service-tier");
    expect(q.costPicoUsd).toBe(4_000_000_000n); // gpt-5.4: 1,000 × 2.5 + 100 × 15
  });

  it("recorded: uses usage.cost.total as recorded, without looking the model up", () => {
    expect(pricer("recorded").price(FIXTURE)).toEqual({
      costPicoUsd: 6_901_800_000n,
      source: "recorded",
      version: "transcript",
      unknownModel: false,
    });
  });

  it("recorded: falls back to calculating when the recorded cost is missing or 0 but tokens were used", () => {
    const p = pricer("recorded");
    expect(p.price({ ...unknown, recordedCostUsd: 0 })).toMatchObject({
      source: "fallback",
      costPicoUsd: atFallback,
    });
    expect(p.price({ ...unknown, recordedCostUsd: null })).toMatchObject({
      source: "fallback",
      unknownModel: true,
    });
    const known = usage({ provider: "openai", model: "gpt-4o", input: 1_000, recordedCostUsd: 0 });
    expect(p.price(known)).toMatchObject({ source: "table", costPicoUsd: 2_500_000_000n });
    expect(p.price(usage({ recordedCostUsd: 0 }))).toMatchObject({ source: "recorded", costPicoUsd: 0n });
  });

  it("auto: prefers the table, then the recorded cost for an unknown model (flagged), then the fallback", () => {
    const p = pricer("auto");
    const known = usage({ provider: "openai", model: "gpt-4o", input: 1_000, recordedCostUsd: 99 });
    expect(p.price(known)).toMatchObject({
      source: "table",
      costPicoUsd: 2_500_000_000n,
      unknownModel: false,
    });
    expect(p.price(FIXTURE)).toEqual({
      costPicoUsd: 6_901_800_000n,
      source: "recorded",
      version: "transcript",
      unknownModel: true,
    });
    for (const recordedCostUsd of [0, null]) {
      expect(p.price({ ...unknown, recordedCostUsd })).toMatchObject({
        costPicoUsd: atFallback,
        source: "fallback",
        unknownModel: true,
      });
    }
  });

  it("auto: an override wins over the recorded cost", () => {
    const o = parsePriceOverrides({ "mock/mock-gpt": MOCK_PRICES }, "prices.json");
    expect(pricer("auto", o).price({ ...FIXTURE, recordedCostUsd: 1 })).toMatchObject({
      source: "override",
      costPicoUsd: 6_901_800_000n,
    });
  });

  it("does not guess a table price for a model name that matches no family", () => {
    const p = pricer("calculate");
    for (const [provider, model] of [
      ["mock", "mock-gpt"],
      // (a custom provider: `ollama` is a local model server, $0 since 2026-12-03, case local-model-server-free)
      ["my-proxy", "llama3.1:8b"],
      ["openai", "gpt-does-not-exist"],
    ]) {
      expect(p.price(usage({ provider, model, input: 1 }))).toMatchObject({
        source: "fallback",
        unknownModel: true,
      });
    }
  });
});

describe("1-hour cache writes", () => {
  const call = usage({
    provider: "anthropic",
    model: "claude-sonnet-4-5",
    input: 100,
    output: 200,
    cacheWrite: 10_000,
    cacheWrite1h: 4_000,
  });

  it("prices the 1-hour part at the table's own 1-hour rate and the rest at the 5-minute rate", () => {
    // 100 × 3 + 200 × 15 + 4,000 × 6 + 6,000 × 3.75 (USD per 1M) = $0.0498
    expect(pricer("calculate").price(call)).toMatchObject({ source: "table", costPicoUsd: 49_800_000_000n });
    expect(pricer("calculate").price({ ...call, cacheWrite1h: 0 })).toMatchObject({
      costPicoUsd: 40_800_000_000n,
    });
    // an absent breakdown is the same as 0 (lines written before OpenClaw reported the split)
    const { cacheWrite1h: _, ...old } = call;
    expect(pricer("calculate").price(old).costPicoUsd).toBe(40_800_000_000n);
  });

  it("uses the tier's 1-hour rate above 200k input tokens (whole call)", () => {
    const big = { ...call, input: 200_000 };
    // 200,000 × 6 + 200 × 22.5 + 4,000 × 12 + 6,000 × 7.5
    expect(pricer("calculate").price(big).costPicoUsd).toBe(
      200_000n * 6_000_000n + 200n * 22_500_000n + 4_000n * 12_000_000n + 6_000n * 7_500_000n,
    );
  });

  it("overrides: an optional cacheWrite1h (also per tier), else 2x the input price", () => {
    const o = parsePriceOverrides(
      {
        "anthropic/claude-sonnet-4-5": {
          ...MOCK_PRICES,
          cacheWrite1h: "5",
          tiers: [
            { aboveInputTokens: 200_000, input: "6", output: "30", cacheRead: "0.6", cacheWrite: "7.5" },
          ],
        },
        "mock/*": MOCK_PRICES,
      },
      "prices.json",
    );
    const p = pricer("calculate", o);
    expect(p.price(call).costPicoUsd).toBe(
      100n * 3_000_000n + 200n * 15_000_000n + 4_000n * 5_000_000n + 6_000n * 3_750_000n,
    );
    // tier without its own cacheWrite1h: 2 × the tier's input price (6 → 12)
    expect(p.price({ ...call, input: 200_000 }).costPicoUsd).toBe(
      200_000n * 6_000_000n + 200n * 30_000_000n + 4_000n * 12_000_000n + 6_000n * 7_500_000n,
    );
    // no cacheWrite1h at all: 2 × input (3 → 6)
    expect(p.price({ ...call, provider: "mock", model: "x" }).costPicoUsd).toBe(49_800_000_000n);
    // a file without cacheWrite1h keeps the version it had before the field existed
    expect(parsePriceOverrides({ "mock/*": MOCK_PRICES }, "a").version).toBe("overrides:b4711ed4b11d"); // sha256 of the pre-1h canonical form;
  });

  it("the fallback prices 1-hour writes at 2x its input price", () => {
    const u = { ...call, provider: "nobody", model: "knows" };
    expect(pricer("calculate").price(u).costPicoUsd).toBe(
      100n * 15_000_000n + 200n * 75_000_000n + 4_000n * 30_000_000n + 6_000n * 18_750_000n,
    );
  });
});

describe("provider-billed cost", () => {
  const billed = usage({
    provider: "openrouter",
    model: "qwen/qwen3-235b-a22b-2507",
    input: 200_000,
    output: 5_000,
    recordedCostUsd: 0.029,
    recordedCostOrigin: "provider-billed",
  });

  it("auto: bills the provider-billed total over table and overrides, keeping the list price", () => {
    const q = pricer("auto").price(billed);
    expect(q).toMatchObject({
      source: "provider-billed",
      version: "transcript",
      costPicoUsd: 29_000_000_000n,
      unknownModel: false,
    });
    expect(q.tableCostPicoUsd).toBe(pricer("calculate").price(billed).costPicoUsd);
    const o = parsePriceOverrides({ "openrouter/*": MOCK_PRICES }, "prices.json");
    expect(pricer("auto", o).price(billed)).toMatchObject({
      source: "provider-billed",
      costPicoUsd: 29_000_000_000n,
      tableCostPicoUsd: 200_000n * 3_000_000n + 5_000n * 15_000_000n,
    });
    // an unknown model's provider-billed amount is authoritative: not flagged, no list price
    const unknown = pricer("auto").price({ ...billed, provider: "nobody" });
    expect(unknown).toEqual({
      source: "provider-billed",
      version: "transcript",
      costPicoUsd: 29_000_000_000n,
      unknownModel: false,
    });
    // a provider that billed $0 for a free model (list price $0) is billed $0
    const free = { ...billed, model: "meta-llama/llama-3.3-70b-instruct:free", recordedCostUsd: 0 };
    expect(pricer("auto").price(free)).toMatchObject({ source: "provider-billed", costPicoUsd: 0n });
    // ...but a provider-billed $0 on a paid model (an OpenRouter BYOK call) is billed at the list price
    expect(pricer("auto").price({ ...billed, recordedCostUsd: 0 })).toMatchObject({
      source: "table",
      costPicoUsd: pricer("calculate").price(billed).costPicoUsd,
    });
    // ...and so is one of a model no list price knows: $0 (nothing better to bill)
    expect(pricer("auto").price({ ...billed, provider: "nobody", recordedCostUsd: 0 }).costPicoUsd).toBe(0n);
  });

  it("a plain recorded estimate never beats the table in auto", () => {
    expect(pricer("auto").price({ ...billed, recordedCostOrigin: null })).toMatchObject({ source: "table" });
  });

  it("calculate ignores it; recorded bills it and says so", () => {
    expect(pricer("calculate").price(billed)).toMatchObject({ source: "table" });
    expect(pricer("recorded").price(billed)).toMatchObject({
      source: "provider-billed",
      costPicoUsd: 29_000_000_000n,
    });
    expect(pricer("recorded").price({ ...billed, provider: "nobody", recordedCostUsd: 0 })).toMatchObject({
      source: "provider-billed",
      costPicoUsd: 0n,
    });
    expect(pricer("recorded").price({ ...billed, recordedCostUsd: 0 })).toMatchObject({ source: "table" });
  });
});

describe("an OpenRouter BYOK line without the upstream amount", () => {
  // OpenRouter's usage with `is_byok: true` but no `cost_details.upstream_inference_cost` (a relay
  // that dropped it): `cost` is only OpenRouter's ~5 % fee, not what the call cost the operator.
  const parsed = (model: string) => {
    const r = parseLine(
      JSON.stringify({
        type: "message",
        id: "b1",
        timestamp: "2026-11-21T10:02:03.000Z",
        message: {
          role: "assistant",
          content: [],
          api: "openai-completions",
          provider: "openrouter",
          model,
          usage: { prompt_tokens: 9171, completion_tokens: 113, cost: 0.0018, is_byok: true },
          stopReason: "stop",
          timestamp: 1795255320030,
        },
      }),
    );
    if (r.kind !== "usage") throw new Error(`not usage: ${JSON.stringify(r)}`);
    return r.usage;
  };

  it("is billed at the list price in every mode, never at the fee alone", () => {
    const u = parsed("anthropic/claude-sonnet-4");
    const list = pricer("calculate").price(u).costPicoUsd;
    expect(list).toBeGreaterThan(10n * 1_800_000_000n); // the fee is ~5 % of it
    for (const mode of ["auto", "recorded", "calculate"] as const)
      expect(pricer(mode).price(u)).toMatchObject({ source: "table", costPicoUsd: list });
  });

  it("of a model no list price knows is priced at the fallback and flagged, not at the fee", () => {
    const u = parsed("nobody/unknown-model");
    expect(pricer("auto").price(u)).toMatchObject({ source: "fallback", unknownModel: true });
  });
});

describe("dated aliases: a -latest alias the provider moved is priced as the model it named then", () => {
  it("mistral-large-latest / ministral-8b-latest / ministral-3b-latest switch on 2025-12-02, cached or not", () => {
    const before = Date.parse("2025-12-01T23:59:59.999Z");
    const after = Date.parse("2025-12-02T00:00:00Z");
    const io = (r: ReturnType<typeof findTablePrice>) => (r ? [r.input.base, r.output.base] : null);
    for (const f of [findTablePrice, findTablePriceUncachedRates]) {
      // the cache must not carry one era's answer into the other (both orders)
      expect(io(f("mistral", "mistral-large-latest", after))).toEqual([500_000n, 1_500_000n]);
      expect(io(f("mistral", "mistral-large-latest", before))).toEqual([2_000_000n, 6_000_000n]);
      expect(io(f("mistral", "mistral-large-latest", after))).toEqual([500_000n, 1_500_000n]);
      expect(io(f("mistral", "ministral-8b-latest", before))).toEqual([100_000n, 100_000n]);
      expect(io(f("mistral", "ministral-8b-latest", after))).toEqual([150_000n, 150_000n]);
      expect(f("mistral", "ministral-3b-latest", before)).toBeNull();
      expect(io(f("mistral", "ministral-3b-latest", after))).toEqual([100_000n, 100_000n]);
    }
    // the table matches the alias whatever its case or spacing, so does the switch
    for (const m of ["Mistral-Large-Latest", " mistral-large-latest ", "MINISTRAL-8B-LATEST"]) {
      expect(io(findTablePrice("mistral", m, before))).toEqual(
        io(findTablePriceUncachedRates("mistral", m.trim().toLowerCase(), before)),
      );
      expect(io(findTablePrice("mistral", m, after))).toEqual(
        io(findTablePriceUncachedRates("mistral", m.trim().toLowerCase(), after)),
      );
    }
    expect(io(findTablePrice("mistral", "Mistral-Large-Latest", after))).toEqual([500_000n, 1_500_000n]);
    // another provider's model of that name is not Mistral's alias
    expect(findTablePrice("openrouter", "mistral-large-latest", after)).toBeNull();
  });
});

describe("OpenAI fine-tuned models are priced at their base snapshot's fine-tuned rates", () => {
  const at = Date.parse("2026-05-04T10:00:00Z");
  const rates = (provider: string, model: string) => {
    const r = findTablePrice(provider, model, at);
    return r ? [r.input.base, r.cacheRead.base, r.output.base] : null;
  };
  it("bases the table lacks, any org/suffix/checkpoint, case, or a proxy's openai/ prefix", () => {
    expect(rates("openai", "ft:gpt-4.1-2025-04-14:acme::B7xQ9zLm")).toEqual([
      3_000_000n,
      750_000n,
      12_000_000n,
    ]);
    expect(rates("openai", "ft:gpt-4.1-mini-2025-04-14:acme:bot:x1")).toEqual([
      800_000n,
      200_000n,
      3_200_000n,
    ]);
    expect(rates("openai", "FT:gpt-4.1-nano-2025-04-14:acme::x1:ckpt-step-40")).toEqual([
      200_000n,
      50_000n,
      800_000n,
    ]);
    expect(rates("openai", "ft:o4-mini-2025-04-16:acme::x1")).toEqual([4_000_000n, 1_000_000n, 16_000_000n]);
    expect(rates("litellm", "openai/ft:gpt-4.1-2025-04-14:acme::x1")).toEqual([
      3_000_000n,
      750_000n,
      12_000_000n,
    ]);
  });
  it("the table's GPT-4o / 4o mini fine-tunes gain their cached-input price; others stay the table's", () => {
    expect(rates("openai", "ft:gpt-4o-mini-2024-07-18:acme::x1")).toEqual([300_000n, 150_000n, 1_200_000n]);
    expect(rates("openai", "ft:gpt-4o-2024-08-06:acme::x1")).toEqual([3_750_000n, 1_875_000n, 15_000_000n]);
    // GPT-3.5 Turbo fine-tunes: the table's own entry (no cached-input price on the list)
    expect(rates("openai", "ft:gpt-3.5-turbo-0125:acme::x1")).toEqual([3_000_000n, 3_000_000n, 6_000_000n]);
    // an unlisted base stays unknown; a base model id is not a fine-tune
    expect(rates("openai", "ft:gpt-5-2025-08-07:acme::x1")).toBeNull();
    expect(rates("openai", "gpt-4.1-2025-04-14")).toEqual([2_000_000n, 500_000n, 8_000_000n]);
    // OpenAI serves fine-tunes only on its own API
    expect(rates("openrouter", "openai/ft:gpt-4.1-2025-04-14:acme::x1")).toBeNull();
  });
  it("a row priced from the list says so", () => {
    const pricer = createPricer({
      mode: "calculate",
      overrides: parsePriceOverrides({}, "t"),
      fallback: FALLBACK,
    });
    const q = pricer.price(
      parsedUsage({
        provider: "openai",
        model: "ft:gpt-4.1-2025-04-14:acme::x1",
        input: 1000,
        output: 100,
        messageTsMs: at,
      }),
    );
    expect(q).toMatchObject({ source: "table", version: FINE_TUNED_TABLE_VERSION, unknownModel: false });
    expect(q.costPicoUsd).toBe(1000n * 3_000_000n + 100n * 12_000_000n);
  });
});

describe("DeepSeek's API names are priced as the model DeepSeek served under them then", () => {
  const io = (r: ReturnType<typeof findTablePrice>) =>
    r ? [r.input.base, r.cacheRead.base, r.output.base] : null;
  it("V3 / R1 (the table's, night discount too), V3.1, V3.2, then V4-Flash; cached or not, either order", () => {
    const t = (iso: string) => Date.parse(iso);
    const eras: [string, string, bigint[] | null][] = [
      ["deepseek-chat", "2025-09-05T15:59:59.999Z", [270_000n, 70_000n, 1_100_000n]],
      ["deepseek-reasoner", "2025-09-05T15:59:59.999Z", [550_000n, 140_000n, 2_190_000n]],
      ["deepseek-reasoner", "2025-09-04T20:00:00Z", [135_000n, 35_000n, 550_000n]],
      ["deepseek-chat", "2025-09-05T16:00:00Z", [560_000n, 70_000n, 1_680_000n]],
      ["deepseek-reasoner", "2025-09-28T23:59:59.999Z", [560_000n, 70_000n, 1_680_000n]],
      ["deepseek-chat", "2025-09-29T00:00:00Z", [280_000n, 28_000n, 420_000n]],
      ["deepseek-reasoner", "2026-04-23T23:00:00Z", [280_000n, 28_000n, 420_000n]],
      // V4-Flash at launch: cache hits $0.028 until DeepSeek cut them to 1/10, 2026-04-26 12:15 UTC
      ["deepseek-chat", "2026-04-24T00:00:00Z", [140_000n, 28_000n, 280_000n]],
      ["deepseek-reasoner", "2026-04-26T12:14:59.999Z", [140_000n, 28_000n, 280_000n]],
      ["deepseek-chat", "2026-04-26T12:15:00Z", [140_000n, 2_800n, 280_000n]],
    ];
    for (const order of [eras, [...eras].reverse()]) {
      clearTablePriceCache();
      for (const [model, iso, want] of order) {
        expect(io(findTablePrice("deepseek", model, t(iso)))).toEqual(want);
        expect(io(findTablePriceUncachedRates("deepseek", model, t(iso)))).toEqual(want);
      }
    }
    // after V4 the table's own V4-Flash prices (its 2026-08-17 repricing and peak windows) apply
    expect(io(findTablePrice("deepseek", "deepseek-chat", t("2026-08-18T02:00:00Z")))).toEqual(
      io(findTablePrice("deepseek", "deepseek-v4-flash", t("2026-08-18T02:00:00Z"))),
    );
  });
  it("behind a proxy the table does not know, not on OpenRouter (its deepseek/deepseek-chat is its own model)", () => {
    const at = Date.parse("2026-03-10T10:00:00Z");
    expect(io(findTablePrice("litellm", "deepseek/deepseek-chat", at))).toEqual([
      280_000n,
      28_000n,
      420_000n,
    ]);
    expect(io(findTablePrice("openrouter", "deepseek/deepseek-chat", at))).toEqual(
      io(findTablePrice("openrouter", "deepseek/deepseek-chat", Date.parse("2025-01-10T10:00:00Z"))),
    );
    const pricer = createPricer({
      mode: "calculate",
      overrides: parsePriceOverrides({}, "t"),
      fallback: FALLBACK,
    });
    const q = pricer.price(
      parsedUsage({
        provider: "deepseek",
        model: "deepseek-chat",
        input: 1000,
        output: 100,
        messageTsMs: at,
      }),
    );
    expect(q).toMatchObject({ source: "table", version: DATED_PRICE_VERSION, unknownModel: false });
    expect(q.costPicoUsd).toBe(1000n * 280_000n + 100n * 420_000n);
  });
});

describe("price supplement: models the table lacks, from their provider's own list", () => {
  const at = Date.parse("2026-05-04T10:00:00Z");
  const io = (provider: string, model: string) => {
    const r = findTablePrice(provider, model, at);
    return r ? [r.input.base, r.cacheRead.base, r.output.base] : null;
  };
  it("Z.AI on `zai`, any case, behind a vendor prefix on an unknown provider or Z.AI's aliases", () => {
    expect(io("zai", "glm-4.7")).toEqual([600_000n, 110_000n, 2_200_000n]);
    expect(io("zai", " GLM-4.6 ")).toEqual([600_000n, 110_000n, 2_200_000n]);
    expect(io("zai", "glm-4.5-air")).toEqual([200_000n, 30_000n, 1_100_000n]);
    expect(io("zai", "glm-5.1")).toEqual([1_400_000n, 260_000n, 4_400_000n]);
    expect(io("zai", "glm-4.7-flash")).toEqual([0n, 0n, 0n]);
    expect(io("litellm", "zai/glm-4.7")).toEqual([600_000n, 110_000n, 2_200_000n]);
    expect(io("litellm", "z-ai/glm-5")).toEqual([1_000_000n, 200_000n, 3_200_000n]);
    // unknown names stay unknown: no prefix guessing
    expect(io("zai", "glm-4.7-turbo")).toBeNull();
  });
  it("the table's own entries win: Z.AI's GLM-5.2 and OpenRouter's z-ai slugs keep the table's price", () => {
    expect(findTablePrice("zai", "glm-5.2", at)).toBe(findTablePrice("zai", "GLM-5.2", at));
    expect(tableEntryOf("zai", "glm-5.2", at)).toEqual(expect.objectContaining({ id: "GLM-5.2" }));
    expect(io("openrouter", "z-ai/glm-4.7")).toEqual([400_000n, 80_000n, 1_750_000n]);
  });
  it("a model free on its maker's API is not free through another's gateway", () => {
    expect(io("zai", "glm-4.7-flash")).toEqual([0n, 0n, 0n]);
    expect(findTablePrice("vercel-ai-gateway", "zai/glm-4.7-flash", at)).toBeNull();
  });
  it("xAI's dated Grok 4.20 names are the table's grok-4.20 entry, long-context tier included", () => {
    const base = findTablePrice("xai", "grok-4.20", at);
    for (const name of ["grok-4.20-0309-reasoning", "grok-4.20-0309-non-reasoning", "Grok-4.20-Reasoning"]) {
      const r = findTablePrice("xai", name, at);
      expect(r).toEqual(base);
      expect(r).not.toBe(base); // a marked copy: the table's own rows keep the table's version
      expect(tableEntryOf("xai", name, at)).toBe(tableEntryOf("xai", "grok-4.20", at));
    }
    expect(findTablePrice("openrouter", "x-ai/grok-4.20-0309-reasoning", at)).toEqual(base);
    expect(base?.input.tiers).toEqual([{ above: 199_999, rate: 2_500_000n }]);
  });
  it("rows say what priced them; an operator override still wins", () => {
    const u = parsedUsage({ provider: "zai", model: "glm-4.7", input: 1000, output: 100, messageTsMs: at });
    const q = pricer().price(u);
    expect(q).toMatchObject({ source: "table", version: SUPPLEMENT_TABLE_VERSION, unknownModel: false });
    expect(q.costPicoUsd).toBe(1000n * 600_000n + 100n * 2_200_000n);
    expect(SUPPLEMENT_TABLE_VERSION).toMatch(/^@pydantic\/genai-prices@[^+]+\+supplement:[0-9a-f]{8}$/);
    const grok = pricer().price({ ...u, provider: "xai", model: "grok-4.20-0309-reasoning" });
    expect(grok.version).toBe(SUPPLEMENT_TABLE_VERSION);
    expect(pricer().price({ ...u, provider: "xai", model: "grok-4.20" }).version).toBe(TABLE_VERSION);
    const o = parsePriceOverrides(
      { "zai/glm-4.7": { input: 1, output: 1, cacheRead: 1, cacheWrite: 1 } },
      "t",
    );
    expect(pricer("calculate", o).price(u)).toMatchObject({ source: "override" });
  });
});

describe("a model id whose version is spelled with the other separator", () => {
  it("is tried the other way only when the table does not know it", () => {
    expect(versionRespelled("x-ai/grok-4.1-fast")).toBe("x-ai/grok-4-1-fast");
    expect(versionRespelled("gemini-2-5-flash")).toBe("gemini-2.5-flash");
    expect(versionRespelled("claude-sonnet-4-5-20250929")).toBe("claude-sonnet-4.5-20250929");
    expect(versionRespelled("gpt-4o")).toBeNull();
    expect(versionRespelled("qwen3-235b-a22b-2507")).toBeNull();
  });

  it("prices OpenRouter's x-ai/grok-4.1-fast and xAI's grok-4.1-fast as grok-4-1-fast, gemini-2-5-flash as gemini-2.5-flash", () => {
    const at = Date.parse("2026-11-01T00:00:00Z");
    const same = (p: string, a: string, b: string) =>
      expect(findTablePriceUncachedRates(p, a, at), `${p}/${a}`).toEqual(
        findTablePriceUncachedRates(p, b, at),
      );
    for (const [p, a, b] of [
      ["openrouter", "x-ai/grok-4.1-fast", "x-ai/grok-4-1-fast"],
      ["xai", "grok-4.1-fast", "grok-4-1-fast"],
      ["xai", "grok-4.1-fast-reasoning", "grok-4-1-fast-reasoning"],
      ["google", "gemini-2-5-flash", "gemini-2.5-flash"],
    ] as const) {
      expect(findTablePriceUncachedRates(p, b, at), `${p}/${b}`).not.toBeNull();
      same(p, a, b);
    }
  });
});
