export interface FakeUser {
  balanceMicroCredits: number;
  allowed: boolean;
  reason: string | null;
  windows: {
    period: string;
    capMicroCredits: number;
    spentMicroCredits: number;
    resetsAt: string | null;
    kind?: string;
  }[];
  topupUrl?: string;
  /** The pre-call headroom, as creditgate's status answers it. */
  headroom?: { microCredits: number; credits: string; basis: string };
  consumo?: Record<string, unknown>;
  /** The language the operator chose for the user (their limit rules or `*`), when any. */
  language?: string;
  /** When the block lifts by itself (ISO), as the status answers it. */
  liftsAt?: string | null;
  /** creditgate's `CREDITGATE_TIMEZONE`, as the status answers it (absent: an older server). */
  timeZone?: string;
}
export interface FakeRequest {
  method: string;
  path: string;
  query: string;
  auth: string | null;
  body: unknown;
}
export interface FakeNotice {
  id: string | number;
  userId: string;
  channel: string;
  to: string;
  accountId: string | null;
  kind: string;
  text: string;
  createdAt: string;
}
export declare const TEST_PACKS: {
  id: string;
  title: string;
  credits: string;
  prices: { provider: string; currency: string; amount: string }[];
}[];

export declare class FakeCreditgate {
  constructor(opts?: { token?: string });
  /** `GET /v1/providers` answer; null (default): 404, like a creditgate without provider accounts. */
  providerViews: unknown[] | null;
  providerThresholds: { provider: string; body: unknown }[];
  /** agentId → ISO lift time: status `?agent=<id>` answers `operator_budget` (a hard budget reached). */
  budgetBlockedAgents: Map<string, string>;
  /** `GET /v1/budgets` budgets; null (default): 404. */
  budgetViews: unknown[] | null;
  /** The `timeZone` of the `/v1/budgets` answer (default `UTC`). */
  budgetTimeZone: string;
  token: string;
  url: string;
  port: number;
  users: Map<string, FakeUser>;
  packs: {
    id: string;
    title?: string;
    credits: string;
    prices: { provider: string; currency: string; amount: string }[];
  }[];
  disabledProviders: Set<string>;
  topups: {
    topupId: string;
    url: string;
    provider: string;
    expiresAt: string;
    userId: string;
    packId: string;
    saveCard: boolean;
  }[];
  /** userId → the auto top-up view PUT/DELETE /v1/users/:id/autotopup answered. */
  autotopup: Map<string, Record<string, unknown>>;
  /** userId → the card creditgate has saved for them (set it to skip the save-card link). */
  cards: Map<string, { brand: string | null; last4: string | null }>;
  notices: FakeNotice[];
  acked: Set<string>;
  usage: Map<string, Record<string, unknown>>;
  limits: Map<string, unknown>;
  grants: Record<string, unknown>[];
  burns: Map<string, Record<string, unknown>>;
  requests: FakeRequest[];
  mode: "up" | "down" | "hang";
  failWith: ((method: string, path: string) => number | undefined) | null;
  /** Grant answers to lose after the grant is applied (connection reset): an unknown outcome. */
  loseGrantAnswers: number;
  start(port?: number): Promise<this>;
  stop(): Promise<void>;
  setUser(userId: string, patch: Partial<FakeUser>): void;
  addNotice(n: Partial<FakeNotice> & { userId: string }): FakeNotice;
  count(method: string, pathPrefix: string): number;
  status(userId: string): Omit<FakeUser, "consumo">;
}
