import { createContext, render } from "preact";
import { useCallback, useContext, useEffect, useRef, useState } from "preact/hooks";
import {
  ApiError,
  api,
  currentSession,
  errorText,
  type Get,
  login,
  logout,
  type Session,
  useSession,
} from "./api.js";
import { Chart } from "./chart.js";
import { chartCredits, credits, dateTime, int, microMoney, minor, pct, usd } from "./format.js";
import { initialLang, LANGS, type Lang, LOCALE, term, type Words } from "./i18n.js";
import "./style.css";

/** How often every page re-reads its numbers (ms): figures move as the meter bills. */
const POLL_MS = 5_000;

interface Ctx {
  t: Words;
  locale: string;
  session: Session;
  admin: boolean;
}
const AppCtx = createContext<Ctx>(null as unknown as Ctx);
const useApp = () => useContext(AppCtx);

/** Loads `load()` now, whenever `deps` change, and every POLL_MS; `reload` forces a read. */
function usePoll<T>(load: () => Promise<T | undefined>, deps: unknown[]) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [at, setAt] = useState(0);
  const [notFound, setNotFound] = useState(false);
  // The filters (deps) the data shown answers. A failed poll keeps the data of the same filters
  // (a blip), but a refused new filter (a range the API rejects) clears it: the previous range's
  // figures must not stay on screen under the new range's error.
  const shown = useRef<string | null>(null);
  const reload = useCallback(() => {
    const key = JSON.stringify(deps);
    load()
      .then((d) => {
        if (d !== undefined) {
          shown.current = key;
          setData(d);
          setError(null);
          setNotFound(false);
          setAt(Date.now());
        }
      })
      .catch((e: unknown) => {
        if (shown.current !== key) {
          shown.current = null;
          setData(undefined);
        }
        setError(e instanceof Error ? e.message : String(e));
        setNotFound(e instanceof ApiError && e.status === 404);
      });
  }, deps);
  useEffect(() => {
    reload();
    const id = setInterval(reload, POLL_MS);
    return () => clearInterval(id);
  }, [reload]);
  return { data, error, at, reload, notFound };
}

/** Unwraps an openapi-fetch answer: the data, or throws the API's message and status (ApiError). */
async function must<T>(p: Promise<{ data?: T; error?: unknown; response?: Response }>): Promise<T> {
  const r = await p;
  if (r.error !== undefined || r.data === undefined)
    throw new ApiError(errorText(r.error), r.response?.status ?? 0);
  return r.data;
}

/**
 * The location's hash, re-rendering on every change. The listener is attached after the first
 * paint, so the hash is read again once it is: a change in between (a link clicked, or a page
 * opened, while the shell was still appearing) would otherwise be missed and the page would stay
 * on the previous route for good.
 */
function useHash(): string {
  const [hash, setHash] = useState(window.location.hash || "#/");
  useEffect(() => {
    const on = () => setHash(window.location.hash || "#/");
    window.addEventListener("hashchange", on);
    on();
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return hash;
}

function Root() {
  const [lang, setLang] = useState<Lang>(initialLang());
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const t = LANGS[lang];
  useSession(session ?? null, () => setSession(null));
  useEffect(() => {
    currentSession().then(setSession);
  }, []);
  useEffect(() => {
    document.documentElement.lang = lang;
    document.title = t.title;
    localStorage.setItem("cg.lang", lang);
  }, [lang]);
  const langPicker = (
    <label class="lang">
      {t.language}{" "}
      <select value={lang} onChange={(e) => setLang((e.target as HTMLSelectElement).value as Lang)}>
        <option value="en">English</option>
        <option value="es">Español</option>
      </select>
    </label>
  );
  if (session === undefined) return <main class="center">{t.loading}</main>;
  if (session === null) return <Login t={t} langPicker={langPicker} onSession={setSession} />;
  const ctx: Ctx = { t, locale: LOCALE[lang], session, admin: session.scope === "admin" };
  return (
    <AppCtx.Provider value={ctx}>
      <Shell
        langPicker={langPicker}
        onLogout={async () => {
          await logout();
          setSession(null);
        }}
      />
    </AppCtx.Provider>
  );
}

function Login(p: { t: Words; langPicker: preact.JSX.Element; onSession: (s: Session) => void }) {
  const [error, setError] = useState<string | null>(null);
  return (
    <main class="login">
      <h1>{p.t.title}</h1>
      {p.langPicker}
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          const form = e.currentTarget as HTMLFormElement;
          const input = form.elements.namedItem("apiKey") as HTMLInputElement;
          const r = await login(input.value);
          input.value = ""; // the key is not kept, not even in the form
          if (typeof r === "string") setError(r);
          else p.onSession(r);
        }}
      >
        <p>{p.t.loginHint}</p>
        <label>
          {p.t.apiKey}
          <input name="apiKey" type="password" autocomplete="off" required />
        </label>
        <button type="submit">{p.t.login}</button>
        {error && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}

const PAGES = ["overview", "users", "agents", "payments", "providers", "alerts", "review"] as const;

function Shell(p: { langPicker: preact.JSX.Element; onLogout: () => void }) {
  const { t, session } = useApp();
  const hash = useHash();
  const [, page = "overview", arg] = /^#\/([a-z]*)\/?(.*)$/.exec(hash) ?? [];
  const current = (PAGES as readonly string[]).includes(page) ? page : "overview";
  return (
    <>
      <header>
        <strong>creditgate</strong>
        <nav aria-label="main">
          {PAGES.map((k) => (
            <a href={`#/${k}`} aria-current={current === k ? "page" : undefined}>
              {t[k]}
            </a>
          ))}
        </nav>
        <span class="who">
          {session.keyId} ({session.scope})
        </span>
        {p.langPicker}
        <button type="button" onClick={p.onLogout}>
          {t.logout}
        </button>
      </header>
      <main>
        {current === "overview" && <Overview />}
        {current === "users" && (arg ? <UserPage id={decodeURIComponent(arg)} /> : <Users />)}
        {current === "agents" && <Agents />}
        {current === "payments" && <Payments />}
        {current === "providers" && <Providers chosen={arg ? decodeURIComponent(arg) : null} />}
        {current === "alerts" && <Alerts />}
        {current === "review" && <Review />}
      </main>
    </>
  );
}

/** The range picker shared by the pages: today, 7 days, 30 days or from/to dates. */
/**
 * The presets are whole UTC days ending today (today; the last 7 and 30 days including today), sent
 * as dates: the same numbers as `creditgate usage --since <that date>`, read entirely from the
 * daily aggregates (no partial day at the edges).
 */
const PRESET_DAYS = { today: 0, "7d": 6, "30d": 29 } as const;
type Preset = keyof typeof PRESET_DAYS;
const presetFrom = (p: Preset) =>
  new Date(Date.now() - PRESET_DAYS[p] * 86_400_000).toISOString().slice(0, 10);

/** The date (YYYY-MM-DD) after `day`, in UTC; an unreadable value is passed on for the API to refuse. */
function nextDay(day: string): string {
  const ms = Date.parse(`${day}T00:00:00Z`);
  return Number.isNaN(ms) ? day : new Date(ms + 86_400_000).toISOString().slice(0, 10);
}

function useRange(initial: Preset = "7d") {
  const [preset, setPreset] = useState<Preset | null>(initial);
  const [custom, setCustom] = useState<{ from: string; to?: string }>({ from: presetFrom(initial) });
  const range = preset ? { from: presetFrom(preset) } : custom;
  const setRange = (r: { from: string; to?: string }) => {
    const p = (Object.keys(PRESET_DAYS) as Preset[]).find((k) => k === r.from);
    setPreset(p ?? null);
    if (!p) setCustom(r);
  };
  const { t } = useApp();
  const picker = (
    <fieldset class="range">
      <legend>{t.range}</legend>
      {(
        [
          ["today", t.today],
          ["7d", t.d7],
          ["30d", t.d30],
        ] as const
      ).map(([v, label]) => (
        <button type="button" aria-pressed={preset === v} onClick={() => setRange({ from: v })}>
          {label}
        </button>
      ))}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const f = e.currentTarget as HTMLFormElement;
          const from = (f.elements.namedItem("from") as HTMLInputElement).value;
          const to = (f.elements.namedItem("to") as HTMLInputElement).value;
          // The picker's "To" day is included (a one-day range is From = To); the API's `to` is
          // exclusive like `creditgate usage --until`, so it gets the next UTC midnight.
          if (from) setRange(to ? { from, to: nextDay(to) } : { from });
        }}
      >
        <label>
          {t.from} <input name="from" type="date" />
        </label>
        <label>
          {t.to} <input name="to" type="date" />
        </label>
        <button type="submit">{t.apply}</button>
      </form>
    </fieldset>
  );
  return { range, picker };
}

function Updated(p: { at: number; error: string | null }) {
  const { t, locale } = useApp();
  if (p.error)
    return (
      <p role="alert" class="error">
        {p.error}
      </p>
    );
  return (
    <p class="updated" aria-live="polite">
      {p.at ? `${t.updated} ${new Date(p.at).toLocaleTimeString(locale)}` : t.loading}
    </p>
  );
}

function Kpi(p: { id: string; label: string; value: string; sub?: string | undefined }) {
  return (
    <div class="kpi" data-kpi={p.id}>
      <span class="label">{p.label}</span>
      <span class="value">{p.value}</span>
      {p.sub && <span class="sub">{p.sub}</span>}
    </div>
  );
}

function Overview() {
  const { t, locale } = useApp();
  const { range, picker } = useRange("7d");
  const [bucket, setBucket] = useState<"day" | "hour">("day");
  const [stack, setStack] = useState<"agent" | "model" | "provider">("agent");
  // Hourly buckets are read from raw rows: offered for ranges of up to 8 days.
  const b = bucket === "hour" && Date.now() - Date.parse(range.from) > 8 * 86_400_000 ? "day" : bucket;
  const { data, error, at } = usePoll(
    () => must(api.GET("/v1/overview", { params: { query: { ...range, bucket: b, stack } } })),
    [range.from, range.to, b, stack],
  );
  return (
    <section>
      <h1>{t.overview}</h1>
      {picker}
      <Updated at={at} error={error} />
      {data && <OverviewBody data={data} t={t} locale={locale} />}
      {data && (
        <section>
          <h2>{t.spendOverTime}</h2>
          <div class="controls">
            <label>
              {t.interval}{" "}
              <select
                value={b}
                onChange={(e) => setBucket((e.target as HTMLSelectElement).value as "day" | "hour")}
              >
                <option value="day">{t.byDay}</option>
                <option value="hour">{t.byHour}</option>
              </select>
            </label>
            <label>
              {t.stackBy}{" "}
              <select
                value={stack}
                onChange={(e) =>
                  setStack((e.target as HTMLSelectElement).value as "agent" | "model" | "provider")
                }
              >
                <option value="agent">{t.agent}</option>
                <option value="model">{t.model}</option>
                <option value="provider">{t.provider}</option>
              </select>
            </label>
          </div>
          <SpendChart data={data} label={t.spendOverTime} />
        </section>
      )}
    </section>
  );
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** At most this many buckets are laid out for a range; a longer one shows the data's own span. */
const MAX_BUCKETS = 3000;

/**
 * A range's span in epoch ms: [from, to), `to` open = through the end of today (UTC). Dates
 * (YYYY-MM-DD, what the pickers send) are UTC midnights, as the API reads them.
 */
function spanOf(range: { from: string; to?: string | undefined }, nowMs = Date.now()): [number, number] {
  const from = Date.parse(range.from);
  const to = range.to ? Date.parse(range.to) : (Math.floor(nowMs / DAY_MS) + 1) * DAY_MS;
  return [Number.isNaN(from) ? nowMs : from, Number.isNaN(to) ? nowMs : to];
}

/**
 * Every bucket start (ms) of [fromMs, endMs) in `unit` steps, plus any of `extra` (data outside it),
 * sorted: bar charts span the chosen range, with zero bars where there is no data.
 */
function bucketStarts(fromMs: number, endMs: number, unit: number, extra: number[]): number[] {
  const all = new Set(extra);
  const first = Math.floor(fromMs / unit) * unit;
  if ((endMs - first) / unit <= MAX_BUCKETS) for (let b = first; b < endMs; b += unit) all.add(b);
  return [...all].sort((a, b) => a - b);
}

/** The x span of bars at `xs` (ms) of width `unit`, in epoch seconds: half a bucket each side. */
function barSpan(xs: number[], unit: number): [number, number] | undefined {
  if (xs.length === 0) return undefined;
  return [((xs[0] as number) - unit / 2) / 1000, ((xs[xs.length - 1] as number) + unit / 2) / 1000];
}

/**
 * The x span (epoch s) of a line chart over a range: the range, up to now when it is still open,
 * widened to any point outside it.
 */
function lineSpan(range: { from: string; to?: string | undefined }, atMs: number[]): [number, number] {
  const now = Date.now();
  const [from, to] = spanOf(range, now);
  const end = range.to ? to : Math.min(to, now);
  return [Math.min(from, ...atMs) / 1000, Math.max(end, ...atMs) / 1000];
}

function SpendChart(p: { data: Get<"/v1/overview">; label: string }) {
  const { t, locale } = useApp();
  const pts = p.data.series.points;
  const unit = p.data.series.bucket === "hour" ? HOUR_MS : DAY_MS;
  const end = p.data.toMs ?? (Math.floor(Date.now() / DAY_MS) + 1) * DAY_MS;
  const xs = bucketStarts(
    p.data.fromMs,
    end,
    unit,
    pts.map((x) => x.bucketStartMs),
  );
  const keys = [...new Set(pts.map((x) => x.key))];
  const series = keys.map((k) => ({
    name: k,
    values: xs.map((x) => {
      const pt = pts.find((q) => q.key === k && q.bucketStartMs === x);
      return pt ? pt.chargedMicroCredits / 1e6 : 0;
    }),
  }));
  if (xs.length === 0) return <p>{"–"}</p>;
  return (
    <Chart
      label={p.label}
      xs={xs.map((x) => x / 1000)}
      series={series}
      stacked
      xRange={barSpan(xs, unit)}
      unit={p.data.series.bucket === "hour" ? "hour" : "day"}
      xLabel={t.when}
      locale={locale}
    />
  );
}

function OverviewBody(p: { data: Get<"/v1/overview">; t: Words; locale: string }) {
  const { data: d, t, locale } = p;
  const paid = d.topups.map((x) => minor(locale, x.paidMinor, x.exponent, x.currency)).join(" · ") || "–";
  const refunded =
    d.topups.map((x) => minor(locale, x.refundedMinor, x.exponent, x.currency)).join(" · ") || "–";
  return (
    <>
      <div class="kpis">
        <Kpi id="cost" label={t.providerCost} value={usd(locale, d.totals.costPicoUsd)} />
        <Kpi id="charged" label={t.charged} value={credits(locale, d.totals.chargedMicroCredits)} />
        <Kpi id="margin" label={t.margin} value={credits(locale, d.totals.marginMicroCredits)} />
        <Kpi id="requests" label={t.requests} value={int(locale, d.totals.requests)} />
        <Kpi id="errors" label={t.errorRate} value={pct(locale, d.totals.errors, d.totals.requests)} />
        <Kpi id="active" label={t.activeUsers} value={int(locale, d.activeUsers)} />
        <Kpi id="new" label={t.newUsers} value={int(locale, d.newUsers)} />
        <Kpi id="topups" label={t.topupsReceived} value={paid} sub={`${t.topupsRefunded}: ${refunded}`} />
      </div>
      <div class="cols">
        <section>
          <h2>{t.topUsers}</h2>
          <table>
            <thead>
              <tr>
                <th scope="col">{t.user}</th>
                <th scope="col">{t.requests}</th>
                <th scope="col">{t.charged}</th>
              </tr>
            </thead>
            <tbody>
              {d.topUsers.map((u) => (
                <tr>
                  <td>
                    <a href={`#/users/${encodeURIComponent(u.accountId)}`}>{u.accountId}</a>
                  </td>
                  <td class="num">{int(locale, u.requests)}</td>
                  <td class="num">{credits(locale, u.chargedMicroCredits)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
        <section>
          <h2>{t.topModels}</h2>
          <table>
            <thead>
              <tr>
                <th scope="col">{t.model}</th>
                <th scope="col">{t.requests}</th>
                <th scope="col">{t.providerCost}</th>
              </tr>
            </thead>
            <tbody>
              {d.topModels.map((m) => (
                <tr>
                  <td>{m.model}</td>
                  <td class="num">{int(locale, m.requests)}</td>
                  <td class="num">{usd(locale, m.costPicoUsd)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      </div>
      <section>
        <h2>{t.runway}</h2>
        <div class="kpis">
          <Kpi id="prepaid" label={t.prepaid} value={credits(locale, d.balances.prepaidMicroCredits)} />
          <Kpi
            id="owed"
            label={t.owed}
            value={credits(locale, d.balances.owedMicroCredits)}
            sub={`${int(locale, d.balances.overdrawnUsers)} ${t.users_}`}
          />
          <Kpi
            id="burn"
            label={t.burn}
            value={`${credits(locale, d.balances.burnMicroCreditsPerDay)} ${t.perDay}`}
          />
          <Kpi
            id="runway"
            label={t.runwayDays}
            value={d.balances.runwayDays === null ? "∞" : `${d.balances.runwayDays} ${t.days}`}
          />
        </div>
        <h3>{t.runsOutFirst}</h3>
        {d.runouts.length === 0 ? (
          <p data-state="no-runouts">{t.noRunouts}</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">{t.user}</th>
                <th scope="col">{t.balance}</th>
                <th scope="col">{t.burn}</th>
                <th scope="col">{t.runwayDays}</th>
              </tr>
            </thead>
            <tbody>
              {d.runouts.map((r) => (
                <tr>
                  <td>
                    <a href={`#/users/${encodeURIComponent(r.accountId)}`}>{r.accountId}</a>
                  </td>
                  <td class="num">{credits(locale, r.balanceMicroCredits)}</td>
                  <td class="num">{credits(locale, r.burnMicroCreditsPerDay)}</td>
                  <td class="num">
                    {r.runwayDays} {t.days}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}

function Users() {
  const { t, locale } = useApp();
  const [q, setQ] = useState("");
  const [sort, setSort] = useState<"id" | "balance" | "activity" | "created">("id");
  const [dir, setDir] = useState<"asc" | "desc">("asc");
  const [page, setPage] = useState(0);
  const limit = 25;
  const { data, error, at } = usePoll(
    () => must(api.GET("/v1/users", { params: { query: { q, sort, dir, limit, offset: page * limit } } })),
    [q, sort, dir, page],
  );
  const pages = data ? Math.max(1, Math.ceil(data.total / limit)) : 1;
  return (
    <section>
      <h1>{t.users}</h1>
      <div class="controls">
        <label>
          {t.search}{" "}
          <input
            type="search"
            value={q}
            onInput={(e) => {
              setQ((e.target as HTMLInputElement).value);
              setPage(0);
            }}
          />
        </label>
        <label>
          {t.sort}{" "}
          <select
            value={sort}
            onChange={(e) => setSort((e.target as HTMLSelectElement).value as typeof sort)}
          >
            <option value="id">{t.user}</option>
            <option value="balance">{t.balance}</option>
            <option value="activity">{t.lastActivity}</option>
            <option value="created">{t.created}</option>
          </select>
        </label>
        <button type="button" onClick={() => setDir(dir === "asc" ? "desc" : "asc")}>
          {dir === "asc" ? "↑" : "↓"}
        </button>
      </div>
      <Updated at={at} error={error} />
      {data && (
        <table>
          <thead>
            <tr>
              <th scope="col">{t.user}</th>
              <th scope="col">{t.balance}</th>
              <th scope="col">{t.status}</th>
              <th scope="col">{t.todaySpend}</th>
              <th scope="col">{t.monthSpend}</th>
              <th scope="col">{t.limits}</th>
              <th scope="col">{t.lastActivity}</th>
              <th scope="col">{t.language}</th>
            </tr>
          </thead>
          <tbody>
            {data.users.map((u) => (
              <tr>
                <td>
                  <a href={`#/users/${encodeURIComponent(u.userId)}`}>{u.userId}</a>
                </td>
                <td class="num">{credits(locale, u.balanceMicroCredits)}</td>
                <td>
                  {u.allowed === false
                    ? `${t.blocked}: ${u.blockReason ?? (u.reason ? term(t, u.reason) : "")}`
                    : t.allowed}
                </td>
                <td class="num">{credits(locale, u.todayChargedMicroCredits)}</td>
                <td class="num">{credits(locale, u.monthChargedMicroCredits)}</td>
                <td>{u.limits ? JSON.stringify(u.limits) : "–"}</td>
                <td>{dateTime(locale, u.lastActivityMs)}</td>
                <td>{u.language ?? "–"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <nav class="pager" aria-label="pages">
        <button type="button" disabled={page === 0} onClick={() => setPage(page - 1)}>
          {t.prev}
        </button>
        <span>
          {t.page} {page + 1} {t.of} {pages} ({data ? int(locale, data.total) : "…"})
        </span>
        <button type="button" disabled={page + 1 >= pages} onClick={() => setPage(page + 1)}>
          {t.next}
        </button>
      </nav>
    </section>
  );
}

function UserPage(p: { id: string }) {
  const { t, locale, admin } = useApp();
  const { range, picker } = useRange("30d");
  const [ledgerLimit, setLedgerLimit] = useState(20);
  const path = { id: p.id };
  const status = usePoll(() => must(api.GET("/v1/users/{id}/status", { params: { path } })), [p.id]);
  const act = usePoll(
    () => must(api.GET("/v1/users/{id}/activity", { params: { path, query: range } })),
    [p.id, range.from, range.to],
  );
  const ledger = usePoll(
    () => must(api.GET("/v1/users/{id}/ledger", { params: { path, query: { limit: ledgerLimit } } })),
    [p.id, ledgerLimit],
  );
  const calls = usePoll(
    () => must(api.GET("/v1/users/{id}/calls", { params: { path, query: { limit: 20 } } })),
    [p.id],
  );
  const refresh = () => {
    status.reload();
    act.reload();
    ledger.reload();
    calls.reload();
  };
  const s = status.data;
  const a = act.data;
  if (act.notFound)
    return (
      <section data-state="user-not-found">
        <h1>{t.userNotFound}</h1>
        <p role="alert">{t.userNotFoundText.replace("{id}", p.id)}</p>
        <p>
          <a href="#/users">{t.backToUsers}</a>
        </p>
      </section>
    );
  return (
    <section>
      <h1>
        {t.user}: {p.id}
      </h1>
      {s && (
        <div class="kpis">
          <Kpi id="balance" label={t.balance} value={credits(locale, s.balanceMicroCredits)} />
          <Kpi
            id="status"
            label={t.status}
            value={s.allowed ? t.allowed : t.blocked}
            sub={s.reason ? term(t, s.reason) : undefined}
          />
        </div>
      )}
      {picker}
      <Updated at={act.at} error={act.error ?? status.error} />
      {admin ? (
        <UserActions id={p.id} onDone={refresh} blocked={s ? !s.allowed : false} />
      ) : (
        <p>{t.readOnly}</p>
      )}
      {a && (
        <>
          <h2>{t.balanceOverTime}</h2>
          {a.balance.length > 0 ? (
            <Chart
              label={t.balanceOverTime}
              kind="line"
              xLabel={t.when}
              locale={locale}
              xs={a.balance.map((x) => x.atMs / 1000)}
              xRange={lineSpan(
                range,
                a.balance.map((x) => x.atMs),
              )}
              series={[{ name: t.balance, values: a.balance.map((x) => x.balanceMicroCredits / 1e6) }]}
            />
          ) : (
            <p>{t.nothing}</p>
          )}
          <div class="cols">
            <section>
              <h2>{t.usageByModel}</h2>
              <SpendTable rows={a.byModel.map((r) => ({ key: r.model, ...r }))} head={t.model} />
            </section>
            <section>
              <h2>{t.usageByDay}</h2>
              <SpendTable
                rows={a.byDay.map((r) => ({ key: new Date(r.dayStartMs).toISOString().slice(0, 10), ...r }))}
                head={t.when}
              />
            </section>
          </div>
        </>
      )}
      <h2>{t.recentCalls}</h2>
      {calls.data && <CallsTable rows={calls.data.calls} />}
      <h2>{t.ledger}</h2>
      {ledger.data && (
        <table>
          <thead>
            <tr>
              <th scope="col">{t.when}</th>
              <th scope="col">{t.kind}</th>
              <th scope="col">{t.amount}</th>
              <th scope="col">{t.balance}</th>
              <th scope="col">{t.reason}</th>
            </tr>
          </thead>
          <tbody>
            {ledger.data.entries.map((e) => (
              <tr>
                <td>{dateTime(locale, e.createdAtMs)}</td>
                <td>{term(t, e.kind)}</td>
                <td class="num">{credits(locale, e.amountMicroCredits)}</td>
                <td class="num">{credits(locale, e.balanceAfterMicroCredits)}</td>
                <td>{e.reason ?? ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {ledger.data && ledger.data.entries.length >= ledgerLimit && (
        <button type="button" onClick={() => setLedgerLimit(Math.min(500, ledgerLimit + 50))}>
          {t.next}
        </button>
      )}
      {a && (
        <>
          <h2>{t.topups}</h2>
          <TopupTable rows={a.topups} />
          <h2>{t.alerts}</h2>
          <ul>
            {a.alerts.map((x) => (
              <li>
                {dateTime(locale, x.createdAtMs)} · {term(t, x.kind)} ({x.threshold}) ·{" "}
                {term(t, x.webhookState)}
              </li>
            ))}
          </ul>
          <h2>{t.notices}</h2>
          <ul>
            {a.notices.map((x) => (
              <li>
                {dateTime(locale, x.createdAtMs)} · {term(t, x.kind)}: {x.text}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

/** A user's recent calls: model, cost, latency and the redacted previews (when the server keeps them). */
function CallsTable(p: { rows: Get<"/v1/users/{id}/calls">["calls"] }) {
  const { t, locale } = useApp();
  if (p.rows.length === 0) return <p>{t.nothing}</p>;
  const anyPreview = p.rows.some((r) => r.previewUser !== null || r.previewReply !== null);
  return (
    <>
      {!anyPreview && <p>{t.previewsOff}</p>}
      <table>
        <thead>
          <tr>
            <th scope="col">{t.when}</th>
            <th scope="col">{t.model}</th>
            <th scope="col">{t.providerCost}</th>
            <th scope="col">{t.latencyMs}</th>
            {anyPreview && <th scope="col">{t.userSaid}</th>}
            {anyPreview && <th scope="col">{t.reply}</th>}
          </tr>
        </thead>
        <tbody>
          {p.rows.map((r) => (
            <tr>
              <td>{dateTime(locale, r.messageTsMs)}</td>
              <td>
                {r.provider}/{r.model}
              </td>
              <td class="num">{usd(locale, r.costPicoUsd)}</td>
              <td class="num">{r.latencyMs === null ? "–" : int(locale, r.latencyMs)}</td>
              {anyPreview && <td>{r.previewUser ?? ""}</td>}
              {anyPreview && <td>{r.previewReply ?? ""}</td>}
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function SpendTable(p: {
  rows: { key: string; requests: number; costPicoUsd: string; chargedMicroCredits: number }[];
  head: string;
}) {
  const { t, locale } = useApp();
  if (p.rows.length === 0) return <p>{t.nothing}</p>;
  return (
    <table>
      <thead>
        <tr>
          <th scope="col">{p.head}</th>
          <th scope="col">{t.requests}</th>
          <th scope="col">{t.providerCost}</th>
          <th scope="col">{t.charged}</th>
        </tr>
      </thead>
      <tbody>
        {p.rows.map((r) => (
          <tr>
            <td>{r.key}</td>
            <td class="num">{int(locale, r.requests)}</td>
            <td class="num">{usd(locale, r.costPicoUsd)}</td>
            <td class="num">{credits(locale, r.chargedMicroCredits)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function TopupTable(p: { rows: Get<"/v1/users/{id}/activity">["topups"] }) {
  const { t, locale } = useApp();
  if (p.rows.length === 0) return <p>{t.nothing}</p>;
  return (
    <table>
      <thead>
        <tr>
          <th scope="col">{t.id}</th>
          <th scope="col">{t.provider}</th>
          <th scope="col">{t.status}</th>
          <th scope="col">{t.amount}</th>
          <th scope="col">{t.topupsRefunded}</th>
          <th scope="col">{t.credits}</th>
          <th scope="col">{t.created}</th>
        </tr>
      </thead>
      <tbody>
        {p.rows.map((x) => (
          <tr>
            <td>{x.id}</td>
            <td>{x.provider}</td>
            <td>{term(t, x.status)}</td>
            <td class="num">{minor(locale, x.amountMinor, x.exponent, x.currency)}</td>
            <td class="num">
              {x.refundedMinor ? minor(locale, x.refundedMinor, x.exponent, x.currency) : "–"}
            </td>
            <td class="num">{credits(locale, x.grantMicroCredits)}</td>
            <td>{dateTime(locale, x.createdAtMs)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Reads a named field of the submitted form. */
const field = (e: Event, name: string) =>
  ((e.currentTarget as HTMLFormElement).elements.namedItem(name) as HTMLInputElement).value.trim();

/** Decimal credits ("2.5") to micro-credits, exactly (no float). */
function toMicro(text: string): number | null {
  const m = /^(-?)(\d+)(?:\.(\d{1,6}))?$/.exec(text);
  if (!m) return null;
  const v = BigInt(m[2] ?? "0") * 1_000_000n + BigInt((m[3] ?? "").padEnd(6, "0") || "0");
  return Number(m[1] ? -v : v);
}

function UserActions(p: { id: string; onDone: () => void; blocked: boolean }) {
  const { t } = useApp();
  const [msg, setMsg] = useState<string | null>(null);
  // One idempotency key per grant the operator means: a retried submit reuses it.
  const [grantKey, setGrantKey] = useState(() => crypto.randomUUID());
  const path = { id: p.id };
  const run = async (call: Promise<{ error?: unknown }>, after?: () => void) => {
    const r = await call;
    if (r.error !== undefined) setMsg(errorText(r.error));
    else {
      setMsg(t.done);
      after?.();
      p.onDone();
    }
  };
  const packs = usePoll(() => must(api.GET("/v1/packs")), []);
  return (
    <section class="actions">
      <h2>{t.actions}</h2>
      <form
        aria-label={t.grant}
        onSubmit={(e) => {
          e.preventDefault();
          const f = e.currentTarget as HTMLFormElement;
          run(
            api.POST("/v1/users/{id}/grants", {
              params: { path },
              body: {
                credits: field(e, "credits"),
                reason: field(e, "reason"),
                idempotencyKey: `console-${grantKey}`,
              },
            }),
            () => {
              setGrantKey(crypto.randomUUID());
              f.reset();
            },
          );
        }}
      >
        <label>
          {t.credits} <input name="credits" inputMode="decimal" required pattern="\d+(\.\d{1,6})?" />
        </label>
        <label>
          {t.reason} <input name="reason" required maxLength={500} />
        </label>
        <button type="submit">{t.grant}</button>
      </form>
      <form
        aria-label={p.blocked ? t.unblock : t.block}
        onSubmit={(e) => {
          e.preventDefault();
          run(
            p.blocked
              ? api.POST("/v1/users/{id}/unblock", { params: { path } })
              : api.POST("/v1/users/{id}/block", {
                  params: { path },
                  body: { reason: field(e, "blockReason") },
                }),
          );
        }}
      >
        {!p.blocked && (
          <label>
            {t.reason} <input name="blockReason" required maxLength={500} />
          </label>
        )}
        <button type="submit">{p.blocked ? t.unblock : t.block}</button>
      </form>
      <form
        aria-label={t.setLimits}
        onSubmit={(e) => {
          e.preventDefault();
          const daily = toMicro(field(e, "daily"));
          const monthly = toMicro(field(e, "monthly"));
          const floor = toMicro(field(e, "floor"));
          // Merged into the user's stored rules, as the CLI's `limits set` and the plugin's
          // set_limits do: the form sets the daily and monthly hard caps (and the floor) it shows
          // and keeps everything else of the user's own (weekly cap, soft caps, language,
          // low-balance level, headroom, the floor when left blank). Before 2026-12-04 it PUT
          // `{caps, capsOff: []}` as the whole rules and dropped them (found by review r-late).
          run(
            (async () => {
              const current = await api.GET("/v1/users/{id}/limits", { params: { path } });
              if (current.error) return current;
              const own = current.data.user ?? {};
              const given: Partial<Record<"day" | "month", number>> = {
                ...(daily ? { day: daily } : {}),
                ...(monthly ? { month: monthly } : {}),
              };
              const kept = (own.caps ?? []).filter(
                (c) => !((c.kind ?? "hard") === "hard" && given[c.period as "day" | "month"] !== undefined),
              );
              const caps = [
                ...kept,
                ...Object.entries(given).map(([period, capMicroCredits]) => ({
                  period: period as "day" | "month",
                  capMicroCredits: capMicroCredits as number,
                })),
              ];
              // a rule stored before capsOff (caps, no capsOff) replaced all of the defaults' caps:
              // each window it lacks a cap of either kind in stays off the defaults' (the CLI's
              // reading); otherwise the user's capsOff is kept, and a window left blank follows
              // '*'. A window given a hard cap here is no longer off.
              const legacy = own.caps !== undefined && own.capsOff === undefined;
              const capsOff = (
                legacy
                  ? (["day", "week", "month"] as const).filter(
                      (w) =>
                        !(["hard", "soft"] as const).every((k) =>
                          (own.caps ?? []).some((c) => c.period === w && (c.kind ?? "hard") === k),
                        ),
                    )
                  : (own.capsOff ?? [])
              ).filter((w) => given[w as "day" | "month"] === undefined);
              return api.PUT("/v1/users/{id}/limits", {
                params: { path },
                body: {
                  ...own,
                  caps,
                  capsOff,
                  ...(floor !== null ? { floorMicroCredits: floor } : {}),
                } as never,
              });
            })(),
          );
        }}
      >
        <label>
          {t.daily} <input name="daily" inputMode="decimal" />
        </label>
        <label>
          {t.monthly} <input name="monthly" inputMode="decimal" />
        </label>
        <label>
          {t.floor} <input name="floor" inputMode="decimal" />
        </label>
        <button type="submit">{t.setLimits}</button>
        <button type="button" onClick={() => run(api.DELETE("/v1/users/{id}/limits", { params: { path } }))}>
          {t.clearLimits}
        </button>
      </form>
      <form
        aria-label={t.createLink}
        onSubmit={async (e) => {
          e.preventDefault();
          const [packId, provider] = field(e, "pack").split("|");
          const r = await api.POST("/v1/topups", {
            body: {
              userId: p.id,
              packId: packId ?? "",
              provider: (provider ?? "stripe") as "stripe" | "mercadopago",
            },
          });
          setMsg(
            r.error !== undefined
              ? errorText(r.error)
              : `${t.done}: ${(r.data as { checkoutUrl?: string }).checkoutUrl ?? ""}`,
          );
        }}
      >
        <label>
          {t.pack}{" "}
          <select name="pack">
            {(packs.data?.packs ?? []).flatMap((pk) =>
              [...new Set(pk.prices.map((x) => x.provider))].map((prov) => (
                <option value={`${pk.id}|${prov}`}>
                  {pk.title} · {prov}
                </option>
              )),
            )}
          </select>
        </label>
        <button type="submit">{t.createLink}</button>
      </form>
      {msg && (
        <p role="status" class="msg">
          {msg}
        </p>
      )}
    </section>
  );
}

function Agents() {
  const { t, locale } = useApp();
  const { range, picker } = useRange("30d");
  const { data, error, at } = usePoll(
    () => must(api.GET("/v1/agents", { params: { query: range } })),
    [range.from, range.to],
  );
  return (
    <section>
      <h1>{t.agents}</h1>
      {picker}
      <Updated at={at} error={error} />
      {data && (
        <table>
          <thead>
            <tr>
              <th scope="col">{t.agent}</th>
              <th scope="col">{t.requests}</th>
              <th scope="col">{t.providerCost}</th>
              <th scope="col">{t.charged}</th>
              <th scope="col">{t.users}</th>
              <th scope="col">{t.models_}</th>
              <th scope="col">{t.ownCost}</th>
            </tr>
          </thead>
          <tbody>
            {data.agents.map((a) => (
              <tr>
                <td>{a.agentId}</td>
                <td class="num">{int(locale, a.requests)}</td>
                <td class="num">{usd(locale, a.costPicoUsd)}</td>
                <td class="num">{credits(locale, a.chargedMicroCredits)}</td>
                <td class="num">{int(locale, a.users)}</td>
                <td class="num">{int(locale, a.models)}</td>
                <td class="num">
                  {usd(locale, a.ownCostPicoUsd)} ({int(locale, a.ownRequests)})
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Payments() {
  const { t, locale, admin } = useApp();
  const { range, picker } = useRange("30d");
  const [status, setStatus] = useState("");
  const [msg, setMsg] = useState<string | null>(null);
  const { data, error, at, reload } = usePoll(
    () =>
      must(
        api.GET("/v1/payments", {
          params: { query: { ...range, ...(status ? { status: status as "paid" } : {}) } },
        }),
      ),
    [range.from, range.to, status],
  );
  // Revenue days over the whole range (zero bars on days without payments), when there is any.
  const paidDays = data ? data.revenue.map((r) => r.dayStartMs) : [];
  const days = paidDays.length > 0 ? bucketStarts(...spanOf(range), DAY_MS, paidDays) : [];
  const currencies = data ? [...new Set(data.revenue.map((r) => r.currency))] : [];
  return (
    <section>
      <h1>{t.payments}</h1>
      {picker}
      {admin && (
        <button
          type="button"
          onClick={async () => {
            const r = await api.POST("/v1/payments/reconcile");
            setMsg(r.error !== undefined ? errorText(r.error) : `${t.done}: ${r.data?.checked ?? 0}`);
            reload();
          }}
        >
          {t.reconcile}
        </button>
      )}
      {msg && <p role="status">{msg}</p>}
      <Updated at={at} error={error} />
      {data && (
        <>
          <table>
            <caption>
              {t.status} / {t.provider} / {t.currency}
            </caption>
            <thead>
              <tr>
                <th scope="col">{t.status}</th>
                <th scope="col">{t.provider}</th>
                <th scope="col">{t.currency}</th>
                <th scope="col">{t.count}</th>
                <th scope="col">{t.amount}</th>
                <th scope="col">{t.topupsRefunded}</th>
              </tr>
            </thead>
            <tbody>
              {data.groups.map((g) => (
                <tr>
                  <td>{term(t, g.status)}</td>
                  <td>{g.provider}</td>
                  <td>{g.currency}</td>
                  <td class="num">{int(locale, g.count)}</td>
                  <td class="num">{minor(locale, g.amountMinor, g.exponent, g.currency)}</td>
                  <td class="num">{minor(locale, g.refundedMinor, g.exponent, g.currency)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2>{t.revenue}</h2>
          {days.length > 0 ? (
            <Chart
              label={t.revenue}
              unit="day"
              xLabel={t.when}
              locale={locale}
              xs={days.map((d) => d / 1000)}
              xRange={barSpan(days, DAY_MS)}
              series={currencies.map((c) => ({
                name: c,
                values: days.map((d) => {
                  const r = data.revenue.find((x) => x.dayStartMs === d && x.currency === c);
                  return r ? r.amountMinor / 10 ** r.exponent : 0;
                }),
              }))}
            />
          ) : (
            <p>{t.nothing}</p>
          )}
          <label>
            {t.status}{" "}
            <select value={status} onChange={(e) => setStatus((e.target as HTMLSelectElement).value)}>
              <option value="">{t.all}</option>
              {["pending", "awaiting_payment", "paid", "failed", "expired"].map((s) => (
                <option value={s}>{term(t, s)}</option>
              ))}
            </select>
          </label>
          <table>
            <thead>
              <tr>
                <th scope="col">{t.id}</th>
                <th scope="col">{t.user}</th>
                <th scope="col">{t.status}</th>
                <th scope="col">{t.amount}</th>
                <th scope="col">{t.events}</th>
                <th scope="col">{t.created}</th>
              </tr>
            </thead>
            <tbody>
              {data.topups.map((x) => (
                <tr>
                  <td>{x.id}</td>
                  <td>
                    <a href={`#/users/${encodeURIComponent(x.userId)}`}>{x.userId}</a>
                  </td>
                  <td>{term(t, x.status)}</td>
                  <td class="num">{minor(locale, x.amountMinor, x.exponent, x.currency)}</td>
                  <td>{x.events.map((ev) => `${ev.type} → ${term(t, ev.outcome)}`).join("; ") || "–"}</td>
                  <td>{dateTime(locale, x.createdAtMs)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

function Alerts() {
  const { t, locale, admin } = useApp();
  const recent = usePoll(() => must(api.GET("/v1/alerts", { params: { query: {} } })), []);
  const dead = usePoll(() => must(api.GET("/v1/alerts", { params: { query: { state: "dead" } } })), []);
  const [msg, setMsg] = useState<string | null>(null);
  type AlertRow = { id: number; accountId: string; kind: string; webhookState: string; createdAtMs: number };
  const table = (rows: AlertRow[], retry: boolean) =>
    rows.length === 0 ? (
      <p>{t.nothing}</p>
    ) : (
      <table>
        <thead>
          <tr>
            <th scope="col">{t.id}</th>
            <th scope="col">{t.user}</th>
            <th scope="col">{t.kind}</th>
            <th scope="col">{t.delivery}</th>
            <th scope="col">{t.when}</th>
            {retry && admin && <th scope="col">{t.retry}</th>}
          </tr>
        </thead>
        <tbody>
          {rows.map((a) => (
            <tr>
              <td>{a.id}</td>
              <td>{a.accountId}</td>
              <td>{term(t, a.kind)}</td>
              <td>{term(t, a.webhookState)}</td>
              <td>{dateTime(locale, a.createdAtMs)}</td>
              {retry && admin && (
                <td>
                  <button
                    type="button"
                    onClick={async () => {
                      const r = await api.POST("/v1/alerts/{alertId}/retry", {
                        params: { path: { alertId: a.id } },
                      });
                      setMsg(r.error !== undefined ? errorText(r.error) : t.done);
                      dead.reload();
                      recent.reload();
                    }}
                  >
                    {t.retry} #{a.id}
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    );
  return (
    <section>
      <h1>{t.alerts}</h1>
      <Updated at={recent.at} error={recent.error} />
      {msg && <p role="status">{msg}</p>}
      <h2>{t.deadLetters}</h2>
      {dead.data && table(dead.data as AlertRow[], true)}
      <h2>{t.recentAlerts}</h2>
      {recent.data && table(recent.data as AlertRow[], false)}
    </section>
  );
}

function Review() {
  const { t, locale, admin } = useApp();
  const { data, error, at, reload } = usePoll(
    () => must(api.GET("/v1/review", { params: { query: {} } })),
    [],
  );
  const [msg, setMsg] = useState<string | null>(null);
  const act = async (id: number, what: "release" | "void") => {
    const reason = window.prompt(t.reason) ?? "";
    if (!reason.trim()) return;
    const r =
      what === "release"
        ? await api.POST("/v1/review/{reviewId}/release", {
            params: { path: { reviewId: id } },
            body: { reason },
          })
        : await api.POST("/v1/review/{reviewId}/void", {
            params: { path: { reviewId: id } },
            body: { reason },
          });
    setMsg(r.error !== undefined ? errorText(r.error) : t.done);
    reload();
  };
  return (
    <section>
      <h1>{t.review}</h1>
      <Updated at={at} error={error} />
      {msg && <p role="status">{msg}</p>}
      <h2>{t.held}</h2>
      {data && data.items.length === 0 && <p>{t.nothing}</p>}
      {data && data.items.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">{t.id}</th>
              <th scope="col">{t.user}</th>
              <th scope="col">{t.model}</th>
              <th scope="col">{t.reason}</th>
              <th scope="col">{t.cost}</th>
              <th scope="col">{t.when}</th>
              {admin && <th scope="col">{t.actions}</th>}
            </tr>
          </thead>
          <tbody>
            {data.items.map((h) => (
              <tr>
                <td>{h.id}</td>
                <td>{h.accountId}</td>
                <td>
                  {h.provider}/{h.model}
                </td>
                <td>{h.reason}</td>
                <td class="num">{h.costUsd ?? t.notPriced}</td>
                <td>{dateTime(locale, h.messageTsMs)}</td>
                {admin && (
                  <td>
                    <button type="button" onClick={() => act(h.id, "release")}>
                      {t.release} #{h.id}
                    </button>{" "}
                    <button type="button" onClick={() => act(h.id, "void")}>
                      {t.void} #{h.id}
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

type ProviderRow = Get<"/v1/providers">["providers"][number];
type ProviderId = ProviderRow["provider"];

/** A run-out estimate: hours under two days, else days (one decimal); null: no burn, no run-out. */
function runwayText(t: Words, locale: string, hours: number | null): string {
  if (hours === null) return "∞";
  const f = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });
  return hours < 48 ? `${f.format(hours)} ${t.hours}` : `${f.format(hours / 24)} ${t.days}`;
}

/**
 * The currencies of an account holding several (DeepSeek CNY + USD: `balances` of
 * `GET /v1/providers`), under its balance: each currency's balance from the API's integer
 * micro-units, another currency than the account's with its USD equivalent at the configured rate,
 * or, without a rate (`usdMicro` null), marked as not counted in the balance, runway and drift.
 */
function CurrencyBalances(p: { list: NonNullable<ProviderRow["balances"]>; accountCurrency: string | null }) {
  const { t, locale } = useApp();
  return (
    <ul class="balances sub" aria-label={t.balancesOf} data-balances>
      {p.list.map((b) => {
        const counted = b.currency === p.accountCurrency || b.usdMicro !== null;
        return (
          <li
            data-currency={b.currency}
            data-counted={counted ? "true" : "false"}
            class={counted ? undefined : "warn"}
          >
            {microMoney(locale, b.balanceMicro, b.currency)}
            {b.currency !== p.accountCurrency &&
              b.usdMicro !== null &&
              ` ≈ ${microMoney(locale, b.usdMicro, "USD")}`}
            {!counted && <span class="note"> ({t.notCounted.replace("{c}", b.currency)})</span>}
          </li>
        );
      })}
    </ul>
  );
}

/**
 * The operator's own provider accounts (issue #13): balance, burn, runway, drift, last poll and
 * error per provider, and for the chosen one (`#/providers/<id>`, default the first) the balance
 * over time and each UTC day's provider spend next to the metered cost.
 */
function Providers(p: { chosen: string | null }) {
  const { t, locale } = useApp();
  const { data, error, at } = usePoll(() => must(api.GET("/v1/providers")), []);
  const rows = data?.providers ?? [];
  const chosen = rows.find((r) => r.provider === p.chosen) ?? rows[0];
  return (
    <section>
      <h1>{t.providers}</h1>
      <Updated at={at} error={error} />
      {data && rows.length === 0 && <p class="empty">{t.noProviders}</p>}
      {rows.length > 0 && (
        <table>
          <caption>{t.providerAccounts}</caption>
          <thead>
            <tr>
              <th scope="col">{t.provider}</th>
              <th scope="col">{t.balance}</th>
              <th scope="col">{t.providerBurn}</th>
              <th scope="col">{t.meteredBurn}</th>
              <th scope="col">{t.runsOut}</th>
              <th scope="col">{t.drift}</th>
              <th scope="col">{t.lastPoll}</th>
              <th scope="col">{t.lastError}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr data-provider={r.provider}>
                <td>
                  <a
                    href={`#/providers/${r.provider}`}
                    aria-current={chosen?.provider === r.provider ? "true" : undefined}
                  >
                    {r.provider}
                  </a>
                  {r.keySource && <span class="sub"> ({r.keySource})</span>}
                </td>
                <td class="num" data-balance>
                  {r.balanceMicro === null ? "–" : microMoney(locale, r.balanceMicro, r.currency)}
                  {r.usd?.balanceMicro != null && (
                    <span class="sub">
                      <br />≈ {microMoney(locale, r.usd.balanceMicro, "USD")}
                    </span>
                  )}
                  {r.balances && <CurrencyBalances list={r.balances} accountCurrency={r.currency} />}
                </td>
                <td class="num">
                  {r.burn.provider.perDayMicro === null
                    ? "–"
                    : microMoney(locale, r.burn.provider.perDayMicro, r.currency)}
                  {r.usd?.burnPerDayMicro != null && (
                    <span class="sub">
                      <br />≈ {microMoney(locale, r.usd.burnPerDayMicro, "USD")}
                    </span>
                  )}
                </td>
                <td class="num">
                  {r.burn.metered.perDayMicro === null
                    ? "–"
                    : microMoney(locale, r.burn.metered.perDayMicro, r.burn.metered.currency)}
                </td>
                <td class="num">
                  {runwayText(t, locale, r.runway.hours)}
                  {r.runway.runsOutAt && (
                    <span class="sub">
                      <br />({t.runsOutAt} {dateTime(locale, Date.parse(r.runway.runsOutAt))}
                      {r.runway.basis ? `, ${r.runway.basis}` : ""})
                    </span>
                  )}
                </td>
                <td class={r.drift?.exceeds ? "num wrap error" : "num wrap"} data-drift>
                  {!r.drift && r.fx && r.fx.usdPerUnit === null ? (
                    t.noRate.replace("{c}", r.fx.currency)
                  ) : r.drift ? (
                    // The cell wraps between its parts, never inside the amount or the day.
                    <>
                      {`${microMoney(locale, r.drift.diffMicro, "USD")}${
                        r.drift.pct === null
                          ? ""
                          : ` (${new Intl.NumberFormat(locale, { maximumFractionDigits: 1, signDisplay: "exceptZero" }).format(r.drift.pct)}\u00a0%)`
                      } · `}
                      <span class="nowrap">{r.drift.day}</span>
                      {r.drift.exceeds ? ` · ${t.driftExceeds}` : ""}
                    </>
                  ) : (
                    "–"
                  )}
                </td>
                <td>{r.lastPollAt ? dateTime(locale, Date.parse(r.lastPollAt)) : "–"}</td>
                <td class={r.error ? "error" : undefined}>
                  {r.error
                    ? `${r.error.kind}: ${r.error.message} (${int(locale, r.error.consecutiveFailures)} ${t.failures})`
                    : "–"}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {chosen && <ProviderHistory provider={chosen.provider} currency={chosen.currency} />}
    </section>
  );
}

/**
 * The chosen provider's balance and runway over time (side by side; the runway of each snapshot
 * is its balance over the burn known then, computed by the API) and daily spend (provider vs
 * metered; a non-USD account with an exchange rate is compared in USD) in a range.
 */
function ProviderHistory(p: { provider: ProviderId; currency: string | null }) {
  const { t, locale } = useApp();
  const { range, picker } = useRange("30d");
  const { data, error } = usePoll(
    () =>
      must(
        api.GET("/v1/providers/{provider}/history", {
          params: {
            path: { provider: p.provider },
            query: { ...range, limit: 5000 },
          },
        }),
      ),
    [p.provider, range.from, range.to],
  );
  // Snapshots come newest first; charts want time order. Chart values are display numbers only.
  // The balance line is in the account's current currency: snapshots from before a currency
  // change (a CNY-only DeepSeek account that gained a USD balance) are not plotted on its axis.
  const snaps = (data?.snapshots ?? [])
    .filter((s) => s.balanceMicro !== null && (p.currency === null || s.currency === p.currency))
    .sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  const runwaySnaps = (data?.snapshots ?? [])
    .filter((s) => s.runwayHours !== null)
    .sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  // Days in another currency than the account's (before a currency change) are shown only when
  // they have a USD value (a rate): never CNY figures on a USD axis.
  const days = (data?.days ?? [])
    .filter((d) => p.currency === null || d.currency === p.currency || d.providerUsdMicro !== null)
    .sort((a, b) => a.day.localeCompare(b.day));
  // Metered cost is known for USD accounts and those with an exchange rate: no metered line otherwise.
  const metered = days.some((d) => d.meteredMicro !== null);
  // A non-USD account with a rate: both lines in USD, so they compare (never CNY next to USD).
  const converted = days.some((d) => d.currency !== "USD" && d.providerUsdMicro !== null);
  // Each day is a step from its start to the next day's: the last day gets an end point (the next
  // midnight, same values), so it shows, and a single day still has a width.
  const last = days[days.length - 1];
  const stepDays = last
    ? [
        ...days,
        {
          ...last,
          day: new Date(Date.parse(`${last.day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10),
        },
      ]
    : [];
  const unit = p.currency ? ` (${p.currency})` : "";
  const fx = data?.fx;
  return (
    <section>
      <h2>{p.provider}</h2>
      {picker}
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <div class="chart-pair">
        <div>
          <h3>
            {t.providerBalanceOverTime}
            {unit}
          </h3>
          {data && snaps.length === 0 && <p>{t.noSnapshots}</p>}
          {snaps.length > 0 && (
            <Chart
              label={`${p.provider}: ${t.providerBalanceOverTime}`}
              kind="line"
              xLabel={t.when}
              locale={locale}
              xs={snaps.map((s) => Date.parse(s.at) / 1000)}
              xRange={lineSpan(
                range,
                snaps.map((s) => Date.parse(s.at)),
              )}
              series={[{ name: t.balance, values: snaps.map((s) => chartCredits(s.balanceMicro ?? 0)) }]}
            />
          )}
        </div>
        <div data-runway-chart>
          <h3>{t.runwayOverTime}</h3>
          {data && runwaySnaps.length === 0 && <p>{t.noRunway}</p>}
          {runwaySnaps.length > 0 && (
            <Chart
              label={`${p.provider}: ${t.runwayOverTime}`}
              kind="line"
              xLabel={t.when}
              locale={locale}
              xs={runwaySnaps.map((s) => Date.parse(s.at) / 1000)}
              xRange={lineSpan(
                range,
                runwaySnaps.map((s) => Date.parse(s.at)),
              )}
              // display numbers only: hours (one decimal) as days
              series={[
                { name: t.runwayDaysSeries, values: runwaySnaps.map((s) => (s.runwayHours ?? 0) / 24) },
              ]}
            />
          )}
        </div>
      </div>
      <h3>
        {t.dailySpend}
        {converted && fx?.usdPerUnit
          ? ` (${t.inUsd.replace("{r}", fx.usdPerUnit).replace("{c}", fx.currency)})`
          : unit}
        {!metered && fx && fx.usdPerUnit === null
          ? ` · ${t.drift}: ${t.noRate.replace("{c}", fx.currency)}`
          : ""}
      </h3>
      {data && days.length === 0 && <p>{t.noDays}</p>}
      {days.length > 0 && (
        <Chart
          label={`${p.provider}: ${t.dailySpend}`}
          kind="line"
          unit="day"
          xLabel={t.when}
          locale={locale}
          xs={stepDays.map((d) => Date.parse(`${d.day}T00:00:00Z`) / 1000)}
          xRange={lineSpan(
            range,
            stepDays.map((d) => Date.parse(`${d.day}T00:00:00Z`)),
          )}
          series={[
            {
              name: t.providerSpend,
              values: stepDays.map((d) =>
                chartCredits(converted ? (d.providerUsdMicro ?? 0) : d.providerMicro),
              ),
            },
            ...(metered
              ? [{ name: t.meteredSpend, values: stepDays.map((d) => chartCredits(d.meteredMicro ?? 0)) }]
              : []),
          ]}
        />
      )}
    </section>
  );
}

render(<Root />, document.getElementById("app") as HTMLElement);
