import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

const COLORS = [
  "#2563eb",
  "#16a34a",
  "#d97706",
  "#9333ea",
  "#dc2626",
  "#0891b2",
  "#4b5563",
  "#db2777",
  "#65a30d",
];

export interface ChartProps {
  /** Accessible description of what the chart shows. */
  label: string;
  /** x values: epoch seconds. */
  xs: number[];
  /** One series per key; values are display numbers (credits), never used for arithmetic. */
  series: { name: string; values: number[] }[];
  stacked?: boolean;
  height?: number;
  /** Draws steps (a balance) instead of bars. */
  kind?: "bars" | "line";
  /**
   * The x-axis span [from, to] in epoch seconds: the chosen range, whatever part of it has data
   * (a 30-day chart with 2 days of history still spans 30 days). Default: the data's own span.
   */
  xRange?: [number, number] | undefined;
  /**
   * What one x value stands for, so labels say what the bucket is: `day` (a UTC day: dates only,
   * one tick per day or more), `hour` or `time` (an instant: UTC date and time). Default `time`.
   */
  unit?: "day" | "hour" | "time";
  /** Label of the x values in the legend (translated "Time"/"Day"). */
  xLabel?: string;
  /** BCP 47 locale of the date labels. */
  locale?: string;
}

const DAY_S = 86_400;
/** Tick steps of a day-bucketed axis (seconds): whole days, never hours inside a day bucket. */
const DAY_INCRS = [1, 2, 3, 5, 7, 14, 30, 61, 91, 182, 365, 730, 1826].map((d) => d * DAY_S);

/**
 * Formatters of x values (epoch seconds) in UTC: the API's days and hours are UTC, so a bar must
 * read as its UTC day whatever the browser's time zone (uPlot would otherwise label it in local
 * time: in New York the bar of Nov 30 sat before "12am 11/30", labelled 7pm Nov 29).
 */
function utcFormat(locale: string | undefined, unit: "day" | "hour" | "time") {
  const opts: Intl.DateTimeFormatOptions =
    unit === "day"
      ? { timeZone: "UTC", year: "numeric", month: "short", day: "numeric" }
      : { timeZone: "UTC", dateStyle: "medium", timeStyle: "short" };
  const f = new Intl.DateTimeFormat(locale, opts);
  const tick = new Intl.DateTimeFormat(locale, { timeZone: "UTC", month: "short", day: "numeric" });
  return {
    legend: (s: number) => f.format(new Date(s * 1000)) + (unit === "day" ? "" : " UTC"),
    tick: (s: number) => tick.format(new Date(s * 1000)),
  };
}

/** The y span of a bar chart: from zero (or the lowest negative value) to 5 % above the top. */
function barRange(_u: uPlot, min: number | null, max: number | null): uPlot.Range.MinMax {
  const lo = Math.min(0, min ?? 0);
  const hi = Math.max(0, max ?? 0);
  return hi === lo ? [lo, lo + 1] : [lo, hi + (hi - lo) * 0.05];
}

/**
 * A uPlot chart (canvas, ~50 kB): stacked bars drawn as cumulative sums, the biggest first so each
 * smaller one paints over it. Re-created when the data changes (polling every few seconds).
 */
export function Chart(p: ChartProps) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const host = el.current;
    if (!host) return;
    // The figure's content box: clientWidth counts its padding, which pushed the canvas 8 px out.
    const css = getComputedStyle(host);
    const padding = Number.parseFloat(css.paddingLeft) + Number.parseFloat(css.paddingRight);
    const width = Math.max(320, Math.floor(host.clientWidth - (Number.isFinite(padding) ? padding : 0)));
    const xRange = p.xRange;
    const cum: number[][] = [];
    let acc = p.xs.map(() => 0);
    for (const s of p.series) {
      acc = p.stacked ? acc.map((v, i) => v + (s.values[i] ?? 0)) : s.values.slice();
      cum.push(acc);
    }
    const order = p.series.map((_, i) => i).reverse();
    const bars = uPlot.paths.bars ? uPlot.paths.bars({ size: [0.8, 40] }) : undefined;
    const steps = uPlot.paths.stepped ? uPlot.paths.stepped({ align: 1 }) : undefined;
    const unit = p.unit ?? "time";
    const fmt = utcFormat(p.locale, unit);
    const plot = new uPlot(
      {
        width,
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "UTC"),
        height: p.height ?? 260,
        legend: { show: true },
        scales: {
          x: {
            time: true,
            ...(xRange ? { range: (): uPlot.Range.MinMax => [xRange[0], xRange[1]] } : {}),
          },
          // Bars stand on zero: with one bucket (or no empty one) uPlot's auto range starts at the
          // smallest value, so a one-day chart cut its lower stack off at the axis.
          ...(p.kind === "line" ? {} : { y: { range: barRange } }),
        },
        axes: [
          unit === "day"
            ? { incrs: DAY_INCRS, values: (_u: uPlot, splits: number[]) => splits.map((v) => fmt.tick(v)) }
            : {},
          { size: 70 },
        ],
        series: [
          {
            label: p.xLabel ?? "",
            value: (_u: uPlot, v: number | null) => (v === null ? "–" : fmt.legend(v)),
          },
          ...order.map((i) => ({
            label: p.series[i]?.name ?? "",
            stroke: COLORS[i % COLORS.length] as string,
            fill: p.kind === "line" ? undefined : (COLORS[i % COLORS.length] as string),
            width: p.kind === "line" ? 2 : 0,
            ...(p.kind === "line" ? (steps ? { paths: steps } : {}) : bars ? { paths: bars } : {}),
          })),
        ],
      },
      [p.xs, ...order.map((i) => cum[i] ?? [])] as uPlot.AlignedData,
      host,
    );
    // The y span drawn, for tests and tools (bars start at zero).
    host.dataset.yFrom = String(plot.scales.y?.min ?? "");
    return () => plot.destroy();
  }, [JSON.stringify(p)]);
  return (
    <figure
      class="chart"
      role="img"
      aria-label={p.label}
      data-points={p.xs.length}
      data-x-from={p.xRange?.[0]}
      data-x-to={p.xRange?.[1]}
      ref={el}
    />
  );
}
