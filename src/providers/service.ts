import type { Config } from "../config/index.js";
import type { Db } from "../db/index.js";
import { type AlertFacts, type Enforcer, spikeToldWithinHour } from "../limits/index.js";
import { discoverStateDirs } from "../meter/index.js";
import {
  decimalToScaled,
  formatScaled,
  fxFromUsdMicro,
  fxToUsdMicro,
  picoToMicroUsd,
  toSafeNumber,
} from "../money.js";
import { COLLECTORS } from "./collectors/index.js";
import { MAX_STORED_MESSAGE, redactSecrets, utcDay } from "./http.js";
import { type KeyConfig, lookupOpenClawKey, type OpenClawKeySource, resolveKey } from "./keys.js";
import { DAY_MS, driftCauses, drift as driftOf, HOUR_MS, isProviderSpike, perDay, runway } from "./math.js";
import { createProviderRepo, type DailySpend, type PollStatus, type Snapshot } from "./repo.js";
import {
  type Collector,
  CollectorError,
  type CollectorErrorKind,
  type Observation,
  PROVIDER_IDS,
  type ProviderId,
} from "./types.js";

/** Alert thresholds of one provider after merging config defaults, `*` and the provider's own. */
export interface AlertThresholds {
  /** Balance at or under this (micro-units of the provider's currency) alerts. */
  lowBalanceMicro: number;
  /** Runway at or under this many hours alerts. */
  lowRunwayHours: number;
  /** Last hour ≥ factor × trailing hourly average alerts (with `driftMinMicro` as floor). */
  spikeFactor: number;
  /** A day's provider spend differing from metered by more than this % alerts... */
  driftPct: number;
  /** ...and by at least this many micro-USD (config only). */
  driftMinMicro: number;
}

/** Everything the providers module needs from config (see {@link providersSettingsFromConfig}). */
export interface ProvidersSettings {
  keys: Record<ProviderId, KeyConfig & { baseUrl: string | null }>;
  openclaw: OpenClawKeySource;
  /** Poll interval per provider (ms). */
  pollMs: number;
  /** Per-request timeout (ms). */
  timeoutMs: number;
  /** Config defaults of the alert thresholds. */
  alerts: AlertThresholds;
  /**
   * Exchange rates of non-USD account currencies: currency → nano-USD per unit (`CREDITGATE_FX_RATES`,
   * rule 6 of src/money.ts). Default none: drift of such accounts is not computed ("no rate").
   */
  fxRates?: Readonly<Record<string, bigint>>;
}

/** Builds {@link ProvidersSettings} from config (state dirs as the meter finds them, for the OpenClaw key opt-in). */
export function providersSettingsFromConfig(config: Config): ProvidersSettings {
  const p = config.providers;
  return {
    keys: p.keys,
    openclaw: {
      enabled: p.fromOpenClaw,
      stateDirs: p.fromOpenClaw ? discoverStateDirs(config.sources).map((d) => d.path) : [],
    },
    pollMs: p.pollMs,
    timeoutMs: p.timeoutMs,
    alerts: {
      lowBalanceMicro: toSafeNumber(decimalToScaled(p.alerts.lowBalance, 6)),
      lowRunwayHours: Math.round(Number(decimalToScaled(p.alerts.lowRunwayDays, 6) * 24n) / 1e6),
      spikeFactor: p.alerts.spikeFactor,
      driftPct: p.alerts.driftPct,
      driftMinMicro: toSafeNumber(decimalToScaled(p.alerts.driftMinUsd, 6)),
    },
    fxRates: Object.fromEntries(
      Object.entries(p.fxRates).map(([code, rate]) => [code, decimalToScaled(rate, 9)]),
    ),
  };
}

/** Spend over the last hour, 24 h and 7 days, and the per-day rate runway uses (micro-units). */
export interface Burn {
  lastHourMicro: number;
  last24hMicro: number;
  last7dMicro: number;
  /** Provider: the last 7 days' spend over the time creditgate observed of them (≥ 1 h), per day. Metered: the last 24 h. Null: too little observed. */
  perDayMicro: number | null;
}

/** One provider as `creditgate providers`, `GET /v1/providers` and the plugin show it. Never the key. */
export interface ProviderView {
  provider: ProviderId;
  /** Where the key comes from: `env`, `file`, `openclaw:<agent>/<profile>`, or null (none found). */
  keySource: string | null;
  currency: string | null;
  /** Last known balance (micro-units of `currency`), null when the provider has none or was never polled. */
  balanceMicro: number | null;
  balanceAt: string | null;
  burn: {
    /** From the provider's own numbers (snapshots), in `currency`. */
    provider: Burn;
    /** From creditgate's metered cost of this provider's calls, in micro-USD. */
    metered: Burn & { currency: "USD" };
  };
  runway: { hours: number | null; runsOutAt: string | null; basis: "provider" | "metered" | null };
  /**
   * A non-USD account's exchange rate: `usdPerUnit` (decimal string, `CREDITGATE_FX_RATES`) or
   * null when none is configured (then drift is not computed: show "n/a (no <currency> rate)").
   * Null for USD accounts and before the first poll.
   */
  fx: { currency: string; usdPerUnit: string | null } | null;
  /** USD equivalents (micro-USD) of a non-USD account's balance and provider burn per day, at `fx`; null without a rate or for USD accounts. */
  usd: { balanceMicro: number | null; burnPerDayMicro: number | null } | null;
  /**
   * An account holding several currencies (DeepSeek CNY + USD): each currency's balance (micro-units
   * of it) and its USD equivalent at the configured rate (null: no rate, so it is left out of
   * `balanceMicro`, runway and drift). Null for single-currency accounts.
   */
  balances: { currency: string; balanceMicro: number; usdMicro: number | null }[] | null;
  /**
   * The latest complete UTC day the provider reported, vs metered; null when none, or a non-USD
   * account without a rate. `providerMicro` is in `currency`; `providerUsdMicro`, `meteredMicro`
   * and `diffMicro` in micro-USD.
   */
  drift: {
    day: string;
    currency: string;
    providerMicro: number;
    providerUsdMicro: number;
    meteredMicro: number;
    diffMicro: number;
    pct: number | null;
    exceeds: boolean;
  } | null;
  lastPollAt: string | null;
  lastOkAt: string | null;
  error: {
    kind: CollectorErrorKind;
    message: string;
    at: string | null;
    consecutiveFailures: number;
    retryAfterMs: number | null;
  } | null;
  thresholds: AlertThresholds;
}

/**
 * Largest provider figure stored (micro-units): 10^15, a billion units of the account's currency.
 * Anything larger is a broken or hostile answer; stored, a few of them would push the 7-day sums
 * past 2^53 and every surface (`creditgate providers`, `GET /v1/providers`) would fail.
 */
export const MAX_PROVIDER_AMOUNT_MICRO = 1_000_000_000_000_000n;

/** Refuses an observation with a figure beyond ±{@link MAX_PROVIDER_AMOUNT_MICRO} (CollectorError `shape`), before anything is stored. */
function checkPlausible(obs: Observation): void {
  const figures: [string, bigint | null][] = [
    ["balance", obs.balance],
    ["spend counter", obs.spentTotal],
    ...obs.days.map((d): [string, bigint] => [`spend of ${d.day}`, d.micro]),
  ];
  const bad = figures.filter(
    ([, v]) => v !== null && (v > MAX_PROVIDER_AMOUNT_MICRO || v < -MAX_PROVIDER_AMOUNT_MICRO),
  );
  if (bad.length > 0)
    throw new CollectorError(
      "shape",
      `implausible amount (beyond ±1,000,000,000 ${obs.currency}), nothing stored: ${bad.map(([what]) => what).join(", ")}`,
    );
}

/** A previous snapshot's per-currency balances (`detail.balances`, as the DeepSeek collector stores them). */
function balancesOf(detail: Record<string, unknown> | undefined): Map<string, bigint> {
  const out = new Map<string, bigint>();
  const list = detail?.balances;
  if (!Array.isArray(list)) return out;
  for (const b of list as { currency?: unknown; totalMicro?: unknown }[])
    if (typeof b?.currency === "string" && typeof b.totalMicro === "string" && /^-?\d+$/.test(b.totalMicro))
      out.set(b.currency, BigInt(b.totalMicro));
  return out;
}

/**
 * An account holding several currencies (DeepSeek: CNY and USD). Each currency is tracked: its
 * decrease since the previous snapshot (spend) or increase (top-up) goes into
 * `detail.spendSinceLastByCurrency` / `detail.topUpByCurrency`, in micro-units of that currency.
 * When the account's currency is USD and every other currency has a rate in `fxRates` (nano-USD
 * per unit), the account is **combined** in USD: the balance is the USD entry plus every other
 * converted (rule 6, each rounded once), and the spend since the last snapshot is the sum of each
 * currency's decrease converted at the current rate (so a changed rate is never mistaken for
 * spend), unknown (null) when any currency was topped up or was not in the previous snapshot.
 * Without a rate the account stays in its own currency (the others are listed in
 * `detail.notCombined` and left out of balance, runway and drift). Returns null for a
 * single-currency observation.
 */
export function combineCurrencies(
  obs: Observation,
  prevDetail: Record<string, unknown> | undefined,
  fxRates: Readonly<Record<string, bigint>>,
): {
  balance: bigint | null;
  /** Spend since the last snapshot in the account's currency; undefined: use the usual balance rule. */
  since: bigint | null | undefined;
  detail: Record<string, unknown>;
} | null {
  const list = obs.balances;
  if (!list || list.length < 2) return null;
  const prev = balancesOf(prevDetail);
  const spend: Record<string, string> = {};
  const up: Record<string, string> = {};
  const unseen: string[] = [];
  for (const b of list) {
    const p = prev.get(b.currency);
    if (p === undefined) {
      unseen.push(b.currency);
      continue;
    }
    const d = p - b.micro;
    if (d >= 0n) spend[b.currency] = d.toString();
    else up[b.currency] = (-d).toString();
  }
  const detail: Record<string, unknown> = { spendSinceLastByCurrency: spend };
  if (Object.keys(up).length > 0) detail.topUpByCurrency = up;
  const missing = list.map((b) => b.currency).filter((c) => c !== "USD" && fxRates[c] === undefined);
  if (obs.currency !== "USD" || missing.length > 0) {
    detail.notCombined = {
      currencies: list.map((b) => b.currency).filter((c) => c !== obs.currency),
      reason: `no CREDITGATE_FX_RATES rate for ${missing.join(", ") || obs.currency}`,
    };
    return { balance: obs.balance, since: undefined, detail };
  }
  const usd = (c: string, micro: bigint) => (c === "USD" ? micro : fxToUsdMicro(micro, fxRates[c] as bigint));
  let balance = 0n;
  for (const b of list) balance += usd(b.currency, b.micro);
  let since: bigint | null = null;
  if (Object.keys(up).length === 0 && unseen.length === 0) {
    since = 0n;
    for (const [c, d] of Object.entries(spend)) since += usd(c, BigInt(d));
  } else if (Object.keys(up).length > 0) {
    // as for one currency: a top-up makes the interval's spend unknown; its size, in USD
    let topUp = 0n;
    for (const [c, d] of Object.entries(up)) topUp += usd(c, BigInt(d));
    detail.topUpMicro = topUp.toString();
  }
  detail.combinedUsd = {
    currencies: list.map((b) => b.currency),
    usdPerUnit: Object.fromEntries(
      list
        .filter((b) => b.currency !== "USD")
        .map((b) => [b.currency, formatScaled(fxRates[b.currency] as bigint, 9)]),
    ),
  };
  return { balance, since, detail };
}

/** What one poll did. */
export interface PollOutcome {
  provider: ProviderId;
  ok: boolean;
  error: { kind: CollectorErrorKind; message: string } | null;
  alertsRaised: number;
}

const iso = (ms: number | null | undefined) =>
  ms === null || ms === undefined ? null : new Date(ms).toISOString();
/** A provider-reported day counts for drift once it has been over for this long (reports lag). */
export const DRIFT_SETTLE_MS = 6 * HOUR_MS;
/** Complete days looked at for drift alerts. */
const DRIFT_LOOKBACK_DAYS = 7;

export interface ProviderServiceOptions {
  db: Db;
  settings: ProvidersSettings;
  /** Raises provider alerts through the existing pipeline; null: polls raise none (the API process). */
  enforcer?: Enforcer | null;
  fetch?: typeof fetch;
  /** Log lines: provider, outcome and the redacted error; never a key. */
  log?: (level: "info" | "warn" | "error", msg: string) => void;
  /** Collectors by id (tests may replace one). Default {@link COLLECTORS}. */
  collectors?: Readonly<Record<ProviderId, Collector>>;
}

/**
 * Provider accounts over one database: `poll` asks one provider's billing API and stores a
 * snapshot (or the error) and raises alerts; the rest reads what polls stored. `poll` never
 * throws: every failure is recorded on the provider's status and logged (redacted) and the next
 * scheduled poll tries again.
 */
export function createProviderService(o: ProviderServiceOptions) {
  const repo = createProviderRepo(o.db);
  const collectors = o.collectors ?? COLLECTORS;
  const log = o.log ?? (() => {});
  const fetchImpl = o.fetch ?? fetch;
  const s = o.settings;
  const fxRates = s.fxRates ?? {};

  /** micro-units of `currency` → micro-USD (rule 6); the same for USD; null without a rate. */
  function usdOf(micro: number, currency: string): number | null {
    if (currency === "USD") return micro;
    const rate = fxRates[currency];
    return rate === undefined ? null : toSafeNumber(fxToUsdMicro(BigInt(micro), rate));
  }

  /** A non-USD account's rate as shown (decimal string), or null without one. */
  function fxOf(currency: string | null | undefined): ProviderView["fx"] {
    if (!currency || currency === "USD") return null;
    const rate = fxRates[currency];
    return { currency, usdPerUnit: rate === undefined ? null : formatScaled(rate, 9) };
  }

  /** Where a provider's key would come from now (no file read for the key content itself but the OpenClaw lookup). */
  function keySourceOf(id: ProviderId): string | null {
    const k = s.keys[id];
    if (k.value) return "env";
    if (k.file) return "file";
    if (s.openclaw.enabled) {
      // a profile whose keyRef does not resolve still counts: its poll then records why (`config`)
      // never wait for a locked OpenClaw database here: views and the scheduler call this on
      // every request (a locked store shows as `openclaw:<agent>`; the poll itself waits)
      const l = lookupOpenClawKey(id, s.openclaw.stateDirs, 0);
      return l.found?.source ?? l.skipped[0]?.source ?? null;
    }
    return null;
  }

  function thresholds(id: ProviderId): AlertThresholds {
    const t = { ...s.alerts };
    for (const stored of [repo.settings("*"), repo.settings(id)]) {
      if (!stored) continue;
      if (stored.lowBalanceMicro !== null) t.lowBalanceMicro = stored.lowBalanceMicro;
      if (stored.lowRunwayHours !== null) t.lowRunwayHours = stored.lowRunwayHours;
      if (stored.spikeFactor !== null) t.spikeFactor = stored.spikeFactor;
      if (stored.driftPct !== null) t.driftPct = stored.driftPct;
    }
    return t;
  }

  function providerBurn(id: ProviderId, nowMs: number): Burn {
    const w7 = repo.spentSince(id, nowMs - 7 * DAY_MS, nowMs);
    return {
      lastHourMicro: repo.spentSince(id, nowMs - HOUR_MS, nowMs).micro,
      last24hMicro: repo.spentSince(id, nowMs - DAY_MS, nowMs).micro,
      last7dMicro: w7.micro,
      perDayMicro: perDay(w7.micro, w7.observedMs),
    };
  }

  function meteredBurn(id: ProviderId, nowMs: number): Burn & { currency: "USD" } {
    const m = collectors[id].meteredProviders;
    const micro = (from: number) => Number(picoToMicroUsd(BigInt(repo.meteredPico(m, from, nowMs + 1))));
    const d = micro(nowMs - DAY_MS);
    return {
      currency: "USD",
      lastHourMicro: micro(nowMs - HOUR_MS),
      last24hMicro: d,
      // whole UTC days from the daily aggregates (today so far included): no scan of a week of rows
      last7dMicro: Number(
        picoToMicroUsd(
          BigInt(repo.meteredDaysPico(m, Math.floor(nowMs / DAY_MS) - 6, Math.floor(nowMs / DAY_MS))),
        ),
      ),
      perDayMicro: d,
    };
  }

  function meteredDayMicro(id: ProviderId, day: string): { micro: number; unknownModelCalls: number } {
    const r = repo.meteredDay(
      collectors[id].meteredProviders,
      Math.floor(Date.parse(`${day}T00:00:00Z`) / DAY_MS),
    );
    return { micro: Number(picoToMicroUsd(BigInt(r.pico))), unknownModelCalls: r.unknownModelCalls };
  }

  function runwayOf(
    id: ProviderId,
    last: Snapshot | null,
    nowMs: number,
    /** The provider burn per day at `nowMs` when already known (history: computed for all snapshots at once). */
    knownPerDay?: number | null,
  ): ProviderView["runway"] & { hoursRaw: number | null; atMs: number | null } {
    const balance = last?.balanceMicro ?? null;
    const pb = { perDayMicro: knownPerDay !== undefined ? knownPerDay : providerBurn(id, nowMs).perDayMicro };
    let basis: "provider" | "metered" | null = null;
    let rate: number | null = null;
    if (pb.perDayMicro !== null && pb.perDayMicro > 0) {
      basis = "provider";
      rate = pb.perDayMicro;
    } else if (last && (last.currency === "USD" || fxRates[last.currency] !== undefined)) {
      // the metered burn is in USD: in the account's currency at the configured rate (rule 6)
      const mb = meteredBurn(id, nowMs);
      if (mb.perDayMicro !== null && mb.perDayMicro > 0) {
        basis = "metered";
        const fx = fxRates[last.currency];
        rate = fx === undefined ? mb.perDayMicro : toSafeNumber(fxFromUsdMicro(BigInt(mb.perDayMicro), fx));
      }
    }
    const r = runway(balance, rate, nowMs);
    return {
      hours: r.hours,
      runsOutAt: iso(r.runsOutAtMs),
      basis: r.hours === null ? null : basis,
      hoursRaw: r.hours,
      atMs: r.runsOutAtMs,
    };
  }

  /**
   * Whether a day's drift can be judged: not when nothing was metered that day and the day is
   * older than creditgate's first poll of the provider (the provider's report reaches back a
   * week; creditgate was most likely not installed yet, so "0 metered" says nothing).
   */
  function driftJudged(id: ProviderId, day: string, meteredMicro: number, nowMs: number): boolean {
    if (meteredMicro !== 0) return true;
    const first = repo.spentSince(id, nowMs - HOUR_MS, nowMs).firstAtMs;
    return first === null || day >= utcDay(first);
  }

  function latestDrift(id: ProviderId, nowMs: number): ProviderView["drift"] {
    const last = repo.last(id);
    if (!last) return null;
    const today = utcDay(nowMs);
    const days = repo
      .days(id, utcDay(nowMs - DRIFT_LOOKBACK_DAYS * DAY_MS), today)
      .filter((d) => d.day < today);
    const d = days[days.length - 1];
    if (!d || d.currency !== last.currency) return null;
    const usd = usdOf(d.amountMicro, d.currency);
    if (usd === null) return null; // no exchange rate: not computed (view.fx says so)
    const metered = meteredDayMicro(id, d.day);
    const t = thresholds(id);
    const x = driftOf(usd, metered.micro, t.driftPct, t.driftMinMicro);
    if (!driftJudged(id, d.day, metered.micro, nowMs)) x.exceeds = false;
    return {
      day: d.day,
      currency: d.currency,
      providerMicro: d.amountMicro,
      providerUsdMicro: usd,
      meteredMicro: metered.micro,
      ...x,
    };
  }

  function raiseAlerts(id: ProviderId, nowMs: number): number {
    const enforcer = o.enforcer;
    if (!enforcer) return 0;
    const account = `provider:${id}`;
    const t = thresholds(id);
    const last = repo.last(id);
    const today = `day:${utcDay(nowMs)}`;
    let n = 0;
    const raise = (
      kind: Parameters<Enforcer["raise"]>[1],
      threshold: string,
      windowKey: string,
      facts: AlertFacts,
    ) => {
      if (enforcer.raise(account, kind, threshold, windowKey, { provider: id, ...facts }, nowMs)) n++;
    };
    if (last && last.balanceMicro !== null) {
      if (last.balanceMicro <= t.lowBalanceMicro)
        raise("provider_low_balance", String(t.lowBalanceMicro), today, {
          currency: last.currency,
          providerBalanceMicro: last.balanceMicro,
          thresholdMicro: t.lowBalanceMicro,
        });
      const r = runwayOf(id, last, nowMs);
      if (r.hoursRaw !== null && r.hoursRaw <= t.lowRunwayHours)
        raise("provider_low_runway", String(t.lowRunwayHours), today, {
          currency: last.currency,
          providerBalanceMicro: last.balanceMicro,
          runwayHours: r.hoursRaw,
          runsOutAtMs: r.atMs,
          thresholdHours: t.lowRunwayHours,
        });
    }
    const lastHour = repo.spentSince(id, nowMs - HOUR_MS, nowMs);
    const trailing = repo.spentSince(id, nowMs - 25 * HOUR_MS, nowMs - HOUR_MS).micro;
    // A spike needs a baseline: creditgate must have watched the whole trailing day.
    const watchedDay = lastHour.firstAtMs !== null && lastHour.firstAtMs <= nowMs - 25 * HOUR_MS;
    if (
      last &&
      watchedDay &&
      isProviderSpike(lastHour.micro, trailing, t.spikeFactor, t.driftMinMicro) &&
      !spikeToldWithinHour(o.db, account, "provider_spend_spike", nowMs) // one burst, one alert
    )
      raise(
        "provider_spend_spike",
        String(t.spikeFactor),
        `hour:${new Date(nowMs).toISOString().slice(0, 13)}`,
        {
          currency: last.currency,
          lastHourMicro: lastHour.micro,
          avgHourMicro: Math.round(trailing / 24),
        },
      );
    if (last && usdOf(0, last.currency) !== null) {
      // USD accounts, and others with a configured exchange rate (rule 6)
      const settled = utcDay(nowMs - DRIFT_SETTLE_MS - DAY_MS + 1);
      for (const d of repo.days(id, utcDay(nowMs - DRIFT_LOOKBACK_DAYS * DAY_MS), settled)) {
        if (
          d.currency !== last.currency ||
          Date.parse(`${d.day}T00:00:00Z`) + DAY_MS + DRIFT_SETTLE_MS > nowMs
        )
          continue;
        const usd = usdOf(d.amountMicro, d.currency);
        if (usd === null) continue;
        const m = meteredDayMicro(id, d.day);
        const x = driftOf(usd, m.micro, t.driftPct, t.driftMinMicro);
        if (!x.exceeds || !driftJudged(id, d.day, m.micro, nowMs)) continue;
        raise("provider_drift", `${t.driftPct}%`, `day:${d.day}`, {
          currency: "USD",
          day: d.day,
          ...(d.currency !== "USD"
            ? {
                providerCurrency: d.currency,
                providerAmountMicro: d.amountMicro,
                usdPerUnit: fxOf(d.currency)?.usdPerUnit ?? null,
              }
            : {}),
          providerMicro: usd,
          meteredMicro: m.micro,
          driftPct: x.pct,
          causes: driftCauses(x.diffMicro, m.unknownModelCalls),
        });
      }
    }
    return n;
  }

  /** One provider's view (configured or not). */
  function view(id: ProviderId, nowMs: number): ProviderView {
    const last = repo.last(id);
    const st: PollStatus | null = repo.status(id);
    const r = runwayOf(id, last, nowMs);
    const providerBurnNow = providerBurn(id, nowMs);
    const fx = fxOf(last?.currency);
    const conv = (micro: number | null) => (micro === null || !last ? null : usdOf(micro, last.currency));
    return {
      provider: id,
      keySource: keySourceOf(id) ?? st?.keySource ?? null,
      currency: last?.currency ?? null,
      balanceMicro: last?.balanceMicro ?? null,
      balanceAt: iso(last?.takenAtMs),
      burn: { provider: providerBurnNow, metered: meteredBurn(id, nowMs) },
      runway: { hours: r.hours, runsOutAt: r.runsOutAt, basis: r.basis },
      fx,
      usd:
        fx?.usdPerUnit && last
          ? {
              balanceMicro: conv(last.balanceMicro),
              burnPerDayMicro: conv(providerBurnNow.perDayMicro),
            }
          : null,
      balances: (() => {
        const b = balancesOf(last?.detail);
        if (b.size < 2) return null;
        return [...b.entries()].map(([currency, micro]) => {
          const balanceMicro = toSafeNumber(micro);
          return { currency, balanceMicro, usdMicro: usdOf(balanceMicro, currency) };
        });
      })(),
      drift: latestDrift(id, nowMs),
      lastPollAt: iso(st?.lastPollAtMs),
      lastOkAt: iso(st?.lastOkAtMs),
      error:
        st?.errorKind && st.errorMessage
          ? {
              kind: st.errorKind,
              message: st.errorMessage,
              at: iso(st.errorAtMs),
              consecutiveFailures: st.consecutiveFailures,
              retryAfterMs: st.retryAfterMs,
            }
          : null,
      thresholds: thresholds(id),
    };
  }

  return {
    /** Providers with a key configured, or (opted in) found in OpenClaw's auth profiles now. */
    configured(): ProviderId[] {
      return PROVIDER_IDS.filter((id) => keySourceOf(id) !== null);
    },

    /** The merged alert thresholds of a provider. */
    thresholds,

    /** The currency of a provider's account (its last snapshot's), null before the first poll. */
    currency(id: ProviderId): string | null {
      return repo.last(id)?.currency ?? null;
    },

    /**
     * Polls one provider now: resolves its key, calls its collector, stores a snapshot (spend
     * since the last one from its counter, its daily report, or its balance decrease), marks the
     * status and raises alerts. Never throws; failures are stored and logged, redacted. While a
     * 429's `Retry-After` has not passed, the poll is skipped (nothing is sent), unless
     * `opts.force` (the operator's `providers poll --force`, e.g. after raising the account's limit).
     */
    async poll(id: ProviderId, nowMs: number, opts: { force?: boolean } = {}): Promise<PollOutcome> {
      const collector = collectors[id];
      // A 429's Retry-After longer than the poll interval: wait it out instead of asking again.
      const st = repo.status(id);
      if (
        !opts.force &&
        st?.errorKind === "rate_limited" &&
        st.retryAfterMs !== null &&
        st.errorAtMs !== null
      ) {
        const until = st.errorAtMs + st.retryAfterMs;
        if (until > nowMs) {
          const message = `rate limited: waiting until ${new Date(until).toISOString()} (Retry-After)`;
          log("info", `providers: ${id} poll skipped: ${message}`);
          return { provider: id, ok: false, error: { kind: "rate_limited", message }, alertsRaised: 0 };
        }
      }
      let keySource: string | null = null;
      let key: string | null = null;
      try {
        const resolved = resolveKey(id, s.keys[id], s.openclaw);
        if (!resolved) throw new CollectorError("no_key", `no key configured (${collector.keyHint})`);
        key = resolved.key;
        keySource = resolved.source;
        const obs = await collector.collect({
          key,
          baseUrl: s.keys[id].baseUrl ?? collector.defaultBaseUrl,
          timeoutMs: s.timeoutMs,
          nowMs,
          fetch: fetchImpl,
        });
        checkPlausible(obs);
        const prev = repo.last(id);
        const same = prev !== null && prev.currency === obs.currency;
        let since: bigint | null = null;
        let derivedDay: { day: string; micro: bigint } | null = null;
        const detail = { ...obs.detail };
        // several currencies (DeepSeek CNY + USD): each tracked, combined in USD with a rate
        const multi = combineCurrencies(obs, prev?.detail, fxRates);
        if (multi) Object.assign(detail, multi.detail);
        const balanceNow = multi ? multi.balance : obs.balance;
        // a counter of something else now (OpenRouter: the account's usage vs one key's): its
        // jump is not spend
        const sameCounter = prev?.detail.counterScope === obs.detail.counterScope;
        if (obs.spentTotal !== null && same && prev.spentTotalMicro !== null && sameCounter) {
          const d = obs.spentTotal - BigInt(prev.spentTotalMicro);
          since = d >= 0n ? d : null;
        } else if (obs.days.length > 0 && prev !== null) {
          const prevDay = utcDay(prev.takenAtMs);
          let d = 0n;
          for (const day of obs.days) {
            const old = repo.day(id, day.day);
            if (!old && day.day < prevDay) continue; // history first seen now, not new spend
            d += day.micro - BigInt(old?.amountMicro ?? 0);
          }
          since = d >= 0n ? d : 0n;
        } else if (multi && multi.since !== undefined && same) {
          // combined in USD: the per-currency decreases, each converted (never a rate change)
          since = multi.since;
          if (since !== null && since > 0n) derivedDay = { day: utcDay(nowMs), micro: since };
        } else if (balanceNow !== null && same && prev.balanceMicro !== null) {
          const d = BigInt(prev.balanceMicro) - balanceNow;
          if (d >= 0n) since = d;
          else detail.topUpMicro = (-d).toString(); // a top-up: spend since last unknown
          if (obs.days.length === 0 && d > 0n) derivedDay = { day: utcDay(nowMs), micro: d };
        }
        repo.record({
          provider: id,
          takenAtMs: nowMs,
          currency: obs.currency,
          balanceMicro: balanceNow,
          spentTotalMicro: obs.spentTotal,
          spendSinceLastMicro: since,
          detail,
          reportedDays: obs.days,
          derivedDay,
        });
        repo.markOk(id, nowMs, keySource);
        const alertsRaised = raiseAlerts(id, nowMs);
        log("info", `providers: polled ${id}${alertsRaised ? ` (${alertsRaised} alert(s))` : ""}`);
        return { provider: id, ok: true, error: null, alertsRaised };
      } catch (err) {
        const e =
          err instanceof CollectorError
            ? {
                kind: err.kind,
                message: redactSecrets(err.message, key ?? undefined, MAX_STORED_MESSAGE),
                retryAfterMs: err.retryAfterMs,
              }
            : {
                kind: "shape" as const,
                message: redactSecrets(
                  `unexpected error reading the answer: ${(err as Error)?.message ?? String(err)}`,
                  key ?? undefined,
                  MAX_STORED_MESSAGE,
                ),
                retryAfterMs: null,
              };
        try {
          repo.markError(id, nowMs, e, keySource);
        } catch (dbErr) {
          log("error", `providers: ${id}: could not record the poll error: ${(dbErr as Error).message}`);
        }
        log("warn", `providers: ${id} poll failed (${e.kind}): ${e.message}; retried at the next poll`);
        return { provider: id, ok: false, error: { kind: e.kind, message: e.message }, alertsRaised: 0 };
      }
    },

    /** Every provider that is configured or was ever polled, as the surfaces show it. */
    overview(nowMs: number): ProviderView[] {
      const ids = PROVIDER_IDS.filter((id) => keySourceOf(id) !== null || repo.status(id) !== null);
      return ids.map((id) => view(id, nowMs));
    },

    /** One provider's view (configured or not). */
    view,

    /**
     * Snapshots in [fromMs, toMs) (newest first, at most `limit`), each with the runway as it
     * stood then (its balance over the burn up to that moment, as the view computes it now), and
     * each UTC day's provider spend next to the metered cost (USD accounts, and others with an
     * exchange rate: `providerUsdMicro`), for charts of balance and runway over time and drift.
     */
    history(id: ProviderId, q: { fromMs: number; toMs: number; limit: number }) {
      const snapshots = repo.history(id, q.fromMs, q.toMs, q.limit);
      // each snapshot's trailing 7 days of provider spend, from one query
      const windows = repo.spentWindows(
        id,
        snapshots.map((x) => ({ sinceMs: x.takenAtMs - 7 * DAY_MS, nowMs: x.takenAtMs })),
      );
      const t = thresholds(id);
      const days = repo.days(id, utcDay(q.fromMs), utcDay(q.toMs)).map((d: DailySpend) => {
        const usd = usdOf(d.amountMicro, d.currency);
        const m = usd !== null ? meteredDayMicro(id, d.day) : null;
        return {
          day: d.day,
          currency: d.currency,
          providerMicro: d.amountMicro,
          providerUsdMicro: usd,
          source: d.source,
          meteredMicro: m?.micro ?? null,
          drift: m && usd !== null ? driftOf(usd, m.micro, t.driftPct, t.driftMinMicro) : null,
        };
      });
      return {
        provider: id,
        fx: fxOf(snapshots[0]?.currency),
        snapshots: snapshots.map((x, i) => {
          // the runway as it stood at this snapshot: its balance over the burn creditgate knew then
          const w = windows[i];
          const r = runwayOf(id, x, x.takenAtMs, w ? perDay(w.micro, w.observedMs) : null);
          return {
            at: new Date(x.takenAtMs).toISOString(),
            currency: x.currency,
            balanceMicro: x.balanceMicro,
            spentTotalMicro: x.spentTotalMicro,
            spendSinceLastMicro: x.spendSinceLastMicro,
            runwayHours: r.hours,
            runwayBasis: r.basis,
            detail: x.detail,
          };
        }),
        days,
      };
    },

    /** Stores thresholds for a provider or `*` (null fields inherit); returns the merged result. */
    setThresholds(
      id: ProviderId | "*",
      t: Partial<Omit<AlertThresholds, "driftMinMicro">>,
      nowMs: number,
    ): AlertThresholds | null {
      const cur = repo.settings(id) ?? {
        lowBalanceMicro: null,
        lowRunwayHours: null,
        spikeFactor: null,
        driftPct: null,
      };
      repo.putSettings(id, { ...cur, ...t }, nowMs);
      return id === "*" ? null : thresholds(id);
    },

    /** The stored (unmerged) thresholds of a provider or `*`. */
    storedThresholds(id: ProviderId | "*") {
      return repo.settings(id);
    },
  };
}

export type ProviderService = ReturnType<typeof createProviderService>;
