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
    const width = Math.max(320, host.clientWidth);
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
    const plot = new uPlot(
      {
        width,
        height: p.height ?? 260,
        legend: { show: true },
        scales: {
          x: {
            time: true,
            ...(xRange ? { range: (): uPlot.Range.MinMax => [xRange[0], xRange[1]] } : {}),
          },
        },
        axes: [{}, { size: 70 }],
        series: [
          {},
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
