// Shared values of the e2e run: paths, the mock model's prices and the charge they imply, and how
// a Telegram reader sees a message. Pure: no processes, no I/O.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { TEST_PACKS } from "../../test/support/fake-creditgate.mjs";

/** The plugin folder (`plugin/`). */
export const pluginDir = join(dirname(fileURLToPath(import.meta.url)), "../..");
/** The creditgate repository root (its `dist/` is the real creditgate). */
export const repoDir = join(pluginDir, "..");
/** What the mock model's provider costs, in USD per 1M tokens (CREDITGATE_PRICES and the OpenClaw model entry). */
export const MOCK_PRICES = {
  "mock/mock-gpt": { input: "3", output: "15", cacheRead: "0.3", cacheWrite: "3.75" },
};
/** creditgate's packs for this run (`CREDITGATE_PACKS`): the plugin unit tests' packs. */
export const PACKS = { packs: TEST_PACKS };
/**
 * creditgate's charge for one call of the mock model, in micro-credits: exact pico-USD at
 * MOCK_PRICES, rounded up once per call (markup 1, 1 credit per USD).
 */
export function expectedCharge(u) {
  const pico =
    BigInt(u.input) * 3_000_000n +
    BigInt(u.output) * 15_000_000n +
    BigInt(u.cacheRead) * 300_000n +
    BigInt(u.cacheWrite) * 3_750_000n;
  return { pico, micro: (pico + 999_999n) / 1_000_000n };
}
/** The tokens OpenClaw records for a mock response: `input` excludes cached prompt tokens. */
export function tokensOf(call) {
  const cached = call.usage.prompt_tokens_details?.cached_tokens ?? 0;
  return {
    input: call.usage.prompt_tokens - cached,
    output: call.usage.completion_tokens,
    cacheRead: cached,
    cacheWrite: 0,
    total: call.usage.total_tokens,
  };
}
/** What a reader sees: word joiners are invisible, no-break spaces read as spaces. */
export const visible = (t) => t.replace(/\u2060/g, "").replace(/\u00a0/g, " ");
/** A link whose text is its own URL (a bare URL made clickable) changes nothing the user reads. */
export const isBareLink = (text, e) =>
  e.type === "text_link" && text.slice(e.offset, e.offset + e.length) === e.url;
