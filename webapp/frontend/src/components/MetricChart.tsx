// One line chart per metric over steps, drawn with uPlot (loaded with the job page).

import { useEffect, useRef } from "preact/hooks";
import type uPlot from "uplot";
import type { MetricPoint } from "../types";

export function MetricChart({ name, points }: { name: string; points: MetricPoint[] }) {
  const holder = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);

  // x: the step when reported, else the point's position.
  const xs = points.map((point, i) => (point.step ?? i + 1) as number);
  const ys = points.map((point) => point.value);

  useEffect(() => {
    let cancelled = false;
    const element = holder.current;
    if (!element) return;
    void Promise.all([import("uplot"), import("uplot/dist/uPlot.min.css")]).then(([module]) => {
      if (cancelled) return;
      const UPlot = module.default;
      const width = Math.max(240, element.clientWidth || 420);
      chart.current?.destroy();
      chart.current = new UPlot(
        {
          width,
          height: 200,
          legend: { show: true },
          cursor: { drag: { x: true, y: false } },
          scales: { x: { time: false } },
          axes: [{ label: "step" }, { size: 60 }],
          series: [{ label: "step" }, { label: name, stroke: "#2f6f5e", width: 2, points: { show: xs.length < 60 } }],
        },
        [xs, ys],
        element,
      );
    });
    return () => {
      cancelled = true;
    };
    // Rebuilt when the metric changes; new points go through setData below.
  }, [name]);

  useEffect(() => {
    chart.current?.setData([xs, ys]);
  });

  // Follow the figure's width (the grid decides it).
  useEffect(() => {
    const element = holder.current;
    if (!element || typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(() => {
      const width = Math.max(240, element.clientWidth);
      if (chart.current && Math.abs(chart.current.width - width) > 1) chart.current.setSize({ width, height: 200 });
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  useEffect(() => () => chart.current?.destroy(), []);

  return (
    <figure class="metric-chart" data-metric={name}>
      <figcaption>
        {name} <span class="muted">({points.length} points)</span>
      </figcaption>
      <div ref={holder} />
    </figure>
  );
}
