import { z } from "zod";

const list = z.string().transform((s) =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x.length > 0),
);
const decimal = z.string().regex(/^\d+(\.\d+)?$/, "must be a plain non-negative decimal like 1 or 1.25");
const ratesText = z
  .string()
  .regex(
    /^\d+(\.\d+)?(,\d+(\.\d+)?){3}$/,
    "must be four USD-per-1M-token prices: input,output,cacheRead,cacheWrite (e.g. 15,75,1.5,18.75)",
  );

/**
 * Every environment variable creditgate reads. Each one is documented in `.env.example`
 * (a test keeps the two in sync). Empty strings count as unset.
 */
export const envSchema = z.object({
  // storage
  CREDITGATE_DB: z.string().min(1).default("./data/creditgate.sqlite"),
  // sources
  CREDITGATE_STATE_DIRS: list.optional(),
  OPENCLAW_STATE_DIR: z.string().min(1).optional(),
  CLAWDBOT_STATE_DIR: z.string().min(1).optional(),
  MOLTBOT_STATE_DIR: z.string().min(1).optional(),
  CREDITGATE_AGENTS: list.optional(),
  HOME: z.string().optional(),
  // pricing
  CREDITGATE_COST_MODE: z.enum(["calculate", "recorded", "auto"]).default("auto"),
  CREDITGATE_PRICES: z.string().min(1).optional(),
  CREDITGATE_FALLBACK_PRICE: ratesText.default("15,75,1.5,18.75"),
  CREDITGATE_MARKUP: decimal.default("1"),
  CREDITGATE_CREDITS_PER_USD: decimal.default("1"),
  // metering loop
  CREDITGATE_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(250),
  CREDITGATE_BATCH_SIZE: z.coerce.number().int().min(1).max(100_000).default(2000),
  CREDITGATE_LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
  // HTTP server
  HOST: z.string().min(1).default("127.0.0.1"),
  PORT: z.coerce.number().int().min(0).max(65_535).default(8787),
  PUBLIC_BASE_URL: z.url().default("http://127.0.0.1:8787"),
  CREDITGATE_API_KEY: z.string().min(16, "must be at least 16 characters").optional(),
  // payments
  CREDITGATE_PACKS: z.string().min(1).optional(),
  STRIPE_SECRET_KEY: z.string().min(1).optional(),
  STRIPE_WEBHOOK_SECRET: z.string().startsWith("whsec_", "must start with whsec_").optional(),
  MP_ACCESS_TOKEN: z.string().min(1).optional(),
  MP_WEBHOOK_SECRET: z.string().min(1).optional(),
  /** true with MercadoPago test credentials: links use `sandbox_init_point`, payments must have live_mode=false. */
  MP_SANDBOX: z.stringbool().default(false),
  /** `creditgate reconcile` asks providers about pending top-ups older than this. */
  CREDITGATE_RECONCILE_AFTER_MS: z.coerce.number().int().min(0).default(300_000),
  // queue (worker issue)
  REDIS_URL: z.url().default("redis://127.0.0.1:6379"),
});

export type Env = z.infer<typeof envSchema>;
