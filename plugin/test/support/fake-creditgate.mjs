// A small fake of creditgate's operator HTTP API (the /v1 routes the plugin uses), on
// 127.0.0.1, for the unit tests (the e2e harness runs the real creditgate). Plain JS. Its answers
// follow the real server's shapes (src/worker/http-routes.ts, src/api/routes.ts): packs as
// `{packs}`, numeric notice ids with `accountId` = the user and `to` = the peer, strict grant
// bodies `{credits, reason, idempotencyKey}`, 503 `provider_disabled` for a provider that is off.
import { createServer } from "node:http";

const json = (res, code, body) => {
  const text = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(code, text ? { "content-type": "application/json" } : {});
  res.end(text);
};

/** The packs both the fake and the end-to-end run's real creditgate are configured with. */
export const TEST_PACKS = [
  {
    id: "starter",
    title: "5 credits",
    credits: "5",
    prices: [
      { provider: "stripe", currency: "USD", amount: "5.00" },
      { provider: "mercadopago", currency: "ARS", amount: "5000" },
    ],
  },
  {
    id: "plus",
    title: "25 credits",
    credits: "25",
    prices: [{ provider: "stripe", currency: "USD", amount: "20.00" }],
  },
];

export class FakeCreditgate {
  constructor({ token = "test-token" } = {}) {
    this.token = token;
    /** userId → { balanceMicroCredits, allowed, reason, windows, topupUrl, consumo? } */
    this.users = new Map();
    this.packs = structuredClone(TEST_PACKS);
    this.topups = [];
    /** userId → the autotopup view the server would answer; `cards`: userId → {brand, last4} saved. */
    this.autotopup = new Map();
    this.cards = new Map();
    /** Providers answered with 503 provider_disabled (no keys configured on the server). */
    this.disabledProviders = new Set();
    this.notices = [];
    this.acked = new Set();
    this.usage = new Map();
    this.limits = new Map();
    this.grants = [];
    this.burns = new Map();
    /** `GET /v1/providers` answer; null: 404 (a creditgate without provider accounts). */
    this.providerViews = null;
    this.providerThresholds = [];
    /** agentId → ISO lift time: a hard operator budget reached (status `?agent=` answers operator_budget). */
    this.budgetBlockedAgents = new Map();
    /** `GET /v1/budgets` budgets; null: 404 (a creditgate without budgets). */
    this.budgetViews = null;
    this.budgetTimeZone = "UTC";
    this.requests = [];
    /** "up" | "down" (503) | "hang" (never answers) */
    this.mode = "up";
    /** Per-route failure injection: (method, path) => status code | undefined */
    this.failWith = null;
    /**
     * How many grant answers to lose AFTER the grant is applied (the connection is reset): the
     * caller cannot tell whether it was applied (a timeout or a dropped connection in real life).
     */
    this.loseGrantAnswers = 0;
    this.server = null;
    this.url = "";
  }

  async start(port = 0) {
    this.server = createServer((req, res) => this.handle(req, res));
    this.sockets = new Set();
    this.server.on("connection", (s) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    await new Promise((resolve) => this.server.listen(port, "127.0.0.1", resolve));
    this.port = this.server.address().port;
    this.url = `http://127.0.0.1:${this.port}`;
    return this;
  }

  async stop() {
    if (!this.server) return;
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(() => resolve()));
    this.server = null;
  }

  setUser(userId, patch) {
    const cur = this.users.get(userId) ?? {
      balanceMicroCredits: 0,
      allowed: true,
      reason: null,
      windows: [],
    };
    this.users.set(userId, { ...cur, ...patch });
  }

  addNotice(n) {
    const colon = n.userId.indexOf(":");
    const notice = {
      id: n.id ?? this.notices.length + 1,
      userId: n.userId,
      channel: n.channel ?? n.userId.slice(0, colon),
      to: n.to ?? n.userId.slice(colon + 1),
      accountId: n.accountId === undefined ? n.userId : n.accountId,
      kind: n.kind ?? "low_balance",
      text: n.text ?? "Te queda poco saldo.",
      createdAt: n.createdAt ?? new Date().toISOString(),
    };
    this.notices.push(notice);
    return notice;
  }

  count(method, pathPrefix) {
    return this.requests.filter((r) => r.method === method && r.path.startsWith(pathPrefix)).length;
  }

  status(userId) {
    const u = this.users.get(userId);
    if (!u) return { allowed: false, reason: "insufficient_balance", balanceMicroCredits: 0, windows: [] };
    const { consumo: _c, ...s } = u;
    return s;
  }

  async handle(req, res) {
    const url = new URL(req.url, "http://x");
    const path = url.pathname;
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const raw = Buffer.concat(chunks).toString("utf8");
    const body = raw ? JSON.parse(raw) : undefined;
    this.requests.push({
      method: req.method,
      path,
      query: url.search,
      auth: req.headers.authorization ?? null,
      body,
    });
    if (this.mode === "hang") return; // never answers: the client's timeout must fire
    if (this.mode === "down") return json(res, 503, { error: { code: "unavailable", message: "down" } });
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      return json(res, 401, { error: { code: "unauthorized", message: "missing or wrong bearer token" } });
    }
    const injected = this.failWith?.(req.method, path);
    if (injected)
      return json(res, injected, { error: { code: "injected", message: `injected ${injected}` } });

    const route = (method, re) => (req.method === method ? re.exec(path) : null);
    let m = null;
    m = route("GET", /^\/v1\/users\/([^/]+)\/status$/);
    if (m) {
      const s = this.status(decodeURIComponent(m[1]));
      const agent = url.searchParams.get("agent");
      const liftsAt = agent ? this.budgetBlockedAgents.get(agent) : undefined;
      if (liftsAt) {
        const { topupUrl: _t, ...rest } = s;
        return json(res, 200, { ...rest, allowed: false, reason: "operator_budget", liftsAt });
      }
      return json(res, 200, s);
    }
    if (req.method === "GET" && path === "/v1/budgets" && this.budgetViews)
      return json(res, 200, { timeZone: this.budgetTimeZone ?? "UTC", budgets: this.budgetViews });
    m = route("GET", /^\/v1\/users\/([^/]+)\/consumo$/);
    if (m) {
      const userId = decodeURIComponent(m[1]);
      const s = this.status(userId);
      const c = this.users.get(userId)?.consumo ?? {};
      return json(res, 200, {
        userId,
        balanceMicroCredits: s.balanceMicroCredits,
        today: { requests: 3, tokens: 12_345, chargedMicroCredits: 420_000 },
        month: { requests: 40, tokens: 1_234_567, chargedMicroCredits: 5_250_000 },
        limits: (s.windows ?? []).map((w) => ({ ...w, kind: w.kind ?? "hard" })),
        lowBalance: s.balanceMicroCredits < 1_000_000,
        // the user's chosen language, as the real server answers it in both status and /consumo
        ...(s.language ? { language: s.language } : {}),
        ...c,
      });
    }
    if (req.method === "GET" && path === "/v1/packs") return json(res, 200, { packs: this.packs });
    if (req.method === "POST" && path === "/v1/topups") {
      if (this.disabledProviders.has(body?.provider)) {
        return json(res, 503, {
          error: { code: "provider_disabled", message: `${body.provider} is disabled: set its keys` },
        });
      }
      const pack = this.packs.find((p) => p.id === body?.packId);
      if (!pack) return json(res, 404, { error: { code: "not_found", message: `no pack ${body?.packId}` } });
      if (!pack.prices.some((p) => p.provider === body.provider)) {
        return json(res, 400, { error: { code: "validation", message: "provider not offered" } });
      }
      const topupId = `tu_${this.topups.length + 1}`;
      const t = {
        topupId,
        url: `${this.url}/pay/${body.provider}/${topupId}`,
        provider: body.provider,
        expiresAt: "2030-01-01T12:00:00.000Z",
      };
      this.topups.push({ ...t, userId: body.userId, packId: body.packId, saveCard: body.saveCard === true });
      return json(res, 201, t);
    }
    m = route("PUT", /^\/v1\/users\/([^/]+)\/autotopup$/);
    if (m) {
      const userId = decodeURIComponent(m[1]);
      if (!this.packs.some((p) => p.id === body?.packId)) {
        return json(res, 404, { error: { code: "not_found", message: `unknown pack ${body?.packId}` } });
      }
      const threshold = body.threshold ?? "1";
      if (!/^\d+(\.\d{1,6})?$/.test(threshold) || Number(threshold) <= 0) {
        return json(res, 400, {
          error: { code: "invalid_request", message: "threshold: must be more than 0" },
        });
      }
      const card = this.cards.get(userId) ?? null;
      const view = {
        userId,
        enabled: true,
        packId: body.packId,
        currency: null,
        threshold: Number(threshold).toFixed(2),
        thresholdMicroCredits: Math.round(Number(threshold) * 1e6),
        card,
        needsCard: card === null,
        lastCharge: null,
      };
      this.autotopup.set(userId, view);
      return json(res, 200, view);
    }
    m = route("DELETE", /^\/v1\/users\/([^/]+)\/autotopup$/);
    if (m) {
      const userId = decodeURIComponent(m[1]);
      const prev = this.autotopup.get(userId);
      const view = {
        ...(prev ?? { userId, packId: null, threshold: null, card: null }),
        enabled: false,
        needsCard: false,
      };
      this.autotopup.set(userId, view);
      return json(res, 200, view);
    }
    if (req.method === "GET" && path === "/v1/notices") {
      const limit = Number(url.searchParams.get("limit") ?? 50);
      return json(res, 200, this.notices.filter((n) => !this.acked.has(String(n.id))).slice(0, limit));
    }
    m = route("POST", /^\/v1\/notices\/([^/]+)\/ack$/);
    if (m) {
      const id = decodeURIComponent(m[1]);
      if (!this.notices.some((n) => String(n.id) === id))
        return json(res, 404, { error: { code: "not_found", message: `no notice ${id}` } });
      this.acked.add(id);
      res.writeHead(204);
      return res.end();
    }
    if (req.method === "GET" && path === "/v1/providers" && this.providerViews)
      return json(res, 200, { providers: this.providerViews });
    m = route("GET", /^\/v1\/providers\/([^/]+)\/history$/);
    if (m && this.providerViews) {
      const provider = decodeURIComponent(m[1]);
      return json(res, 200, {
        provider,
        snapshots: [
          {
            at: "2026-11-20T12:00:00.000Z",
            currency: "USD",
            balanceMicro: 74_750_000,
            spendSinceLastMicro: 100_000,
            spentTotalMicro: null,
            runwayHours: 73.7,
            runwayBasis: "provider",
            detail: {},
          },
        ],
        days: [
          {
            day: "2026-11-19",
            currency: "USD",
            providerMicro: 13_200_000,
            source: "reported",
            meteredMicro: 11_000_000,
            drift: { diffMicro: 2_200_000, pct: 20, exceeds: true },
          },
        ],
      });
    }
    m = route("PUT", /^\/v1\/providers\/([^/]+)\/alerts$/);
    if (m && this.providerViews) {
      this.providerThresholds.push({ provider: decodeURIComponent(m[1]), body });
      return json(res, 200, { provider: decodeURIComponent(m[1]), stored: body });
    }
    m = route("GET", /^\/v1\/agents\/([^/]+)\/burn$/);
    if (m) {
      const agentId = decodeURIComponent(m[1]);
      return json(
        res,
        200,
        this.burns.get(agentId) ?? {
          agentId,
          lastHourMicroCredits: 1_500_000,
          last24hMicroCredits: 12_000_000,
          runwayHours: 30.5,
        },
      );
    }
    if (req.method === "POST" && path === "/v1/usage") {
      const results = (body?.events ?? []).map((e) => {
        if (!e.idempotencyKey || !e.userId)
          return { idempotencyKey: e.idempotencyKey ?? null, status: "rejected", reason: "missing fields" };
        if (this.usage.has(e.idempotencyKey))
          return { idempotencyKey: e.idempotencyKey, status: "duplicate" };
        this.usage.set(e.idempotencyKey, e);
        return { idempotencyKey: e.idempotencyKey, status: "billed" };
      });
      return json(res, 200, { results });
    }
    m = route("GET", /^\/v1\/users\/([^/]+)\/limits$/);
    if (m) {
      const userId = decodeURIComponent(m[1]);
      return json(res, 200, { userId, user: this.limits.get(userId) ?? null, defaults: null });
    }
    m = route("PUT", /^\/v1\/users\/([^/]+)\/limits$/);
    if (m) {
      const userId = decodeURIComponent(m[1]);
      this.limits.set(userId, body);
      return json(res, 200, { userId, user: body, defaults: null });
    }
    m = route("POST", /^\/v1\/users\/([^/]+)\/grants$/);
    if (m) {
      const userId = decodeURIComponent(m[1]);
      // Like the real grantBodySchema: strict, all three required, credits a decimal string.
      const keys = Object.keys(body ?? {})
        .sort()
        .join(",");
      if (
        keys !== "credits,idempotencyKey,reason" ||
        typeof body.credits !== "string" ||
        !/^\d+(\.\d{1,6})?$/.test(body.credits) ||
        typeof body.reason !== "string" ||
        !body.reason.trim() ||
        typeof body.idempotencyKey !== "string" ||
        !/^[\x21-\x7e]{1,200}$/.test(body.idempotencyKey)
      ) {
        return json(res, 400, { error: { code: "invalid_request", message: `bad grant body ${keys}` } });
      }
      const [i, f = ""] = body.credits.split(".");
      const amountMicroCredits = Number(i) * 1_000_000 + Number(f.padEnd(6, "0"));
      const dup = this.grants.find((g) => g.idempotencyKey === body.idempotencyKey);
      if (dup) {
        if (this.loseGrantAnswers > 0) {
          this.loseGrantAnswers--;
          return res.destroy();
        }
        return json(res, 200, { ...dup, status: "duplicate" });
      }
      const cur = this.users.get(userId) ?? {
        balanceMicroCredits: 0,
        allowed: false,
        reason: "insufficient_balance",
        windows: [],
      };
      const balance = cur.balanceMicroCredits + amountMicroCredits;
      this.users.set(userId, {
        ...cur,
        balanceMicroCredits: balance,
        allowed: balance > 0,
        reason: balance > 0 ? null : cur.reason,
      });
      const g = {
        userId,
        status: "applied",
        entryId: this.grants.length + 1,
        grantedMicroCredits: amountMicroCredits,
        ...body,
        amountMicroCredits,
        balanceMicroCredits: balance,
      };
      this.grants.push(g);
      if (this.loseGrantAnswers > 0) {
        this.loseGrantAnswers--;
        return res.destroy();
      }
      return json(res, 201, g);
    }
    return json(res, 404, { error: { code: "not_found", message: `${req.method} ${path}` } });
  }
}
