/**
 * Charges of a model call that are not tokens: server-side tools the provider runs and bills per
 * use. Shared by the parser (which holds a call it cannot price) and the pricer (which adds the
 * fee). Pure: no I/O.
 *
 * Anthropic's web search tool: "$10 per 1,000 searches, plus standard token costs for
 * search-generated content" (https://platform.claude.com/docs/en/agents-and-tools/tool-use/web-search-tool,
 * "Usage and pricing"; https://platform.claude.com/docs/en/about-claude/pricing, "Web search
 * tool"), counted in the response's `usage.server_tool_use.web_search_requests`. Its web fetch tool
 * has no charge beyond the tokens of the fetched content (the same pages), so
 * `web_fetch_requests` adds nothing. A cost tracker that prices the tokens alone under-bills every
 * search by $0.01 (BerriAI/litellm#16996 and #31355, WordPress/ai-provider-for-anthropic#41).
 */

/** One Anthropic web search, in pico-USD: $10 / 1,000 = $0.01 = 10^10 pico-USD. */
export const WEB_SEARCH_FEE_PICO_USD = 10_000_000_000n;

/**
 * The providers whose `server_tool_use.web_search_requests` are Anthropic's searches at Anthropic's
 * price: the Claude API (`anthropic`) and OpenClaw's Claude CLI backend (`claude-cli`, whose lines
 * carry Anthropic's own usage). Compared exactly (trimmed, lower-cased). Any other provider that
 * writes the count (a relay or gateway translating another vendor's search into Anthropic's shape,
 * at that vendor's price) has no sourced per-search price here.
 */
export const WEB_SEARCH_FEE_PROVIDERS: ReadonlySet<string> = new Set(["anthropic", "claude-cli"]);

/** Whether a provider's web searches are priced at `WEB_SEARCH_FEE_PICO_USD`. */
export function webSearchFeeProvider(provider: string): boolean {
  return WEB_SEARCH_FEE_PROVIDERS.has(provider.trim().toLowerCase());
}
