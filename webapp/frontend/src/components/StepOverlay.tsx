// Several jobs' values of one step metric on one chart (uPlot, loaded when drawn).

import { useEffect, useRef } from "preact/hooks";
import type uPlot from "uplot";
import { alignSeries } from "../chartmath";

const COLOURS = ["#1f65a0", "#b0442a", "#1b7550", "#8a4fb0", "#8f560f", "#3b7d8c"];

export function StepOverlay({ name, series }: { name: string; series: { label: string; points: { step: number; value: number }[] }[] }) {
  const holder = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = holder.current;
    if (!element) return;
    let chart: uPlot | null = null;
    let cancelled = false;
    void Promise.all([import("uplot"), import("uplot/dist/uPlot.min.css")]).then(([module]) => {
      if (cancelled) return;
      const data = alignSeries(series.map((s) => s.points));
      chart = new module.default(
        {
          width: Math.max(260, element.clientWidth || 520),
          height: 220,
          scales: { x: { time: false } },
          axes: [{ label: "step" }, { size: 60 }],
          series: [
            { label: "step" },
            ...series.map((s, i) => ({ label: s.label, stroke: COLOURS[i % COLOURS.length], width: 2, spanGaps: true })),
          ],
        },
        data as uPlot.AlignedData,
        element,
      );
    });
    return () => {
      cancelled = true;
      chart?.destroy();
    };
  }, [name, series]);
  return (
    <figure class="metric-chart" data-metric={name} data-series={series.length}>
      <figcaption>{name}</figcaption>
      <div ref={holder} />
    </figure>
  );
}
