// SHD and precision/recall/F1 of edges (adjacencies) and orientations (arrowheads).

import { formatNumber } from "../format";
import type { GraphComparison } from "../types";

export function ComparisonScores({ comparisons, label }: { comparisons: GraphComparison[]; label: (c: GraphComparison) => string }) {
  if (!comparisons.length) return null;
  return (
    <div class="table-scroll">
      <table class="table scores" data-scores>
        <caption class="visually-hidden">graph scores</caption>
        <thead>
          <tr>
            <th scope="col">Against</th>
            <th scope="col" class="num">SHD</th>
            <th scope="col" class="num">edge precision</th>
            <th scope="col" class="num">edge recall</th>
            <th scope="col" class="num">edge F1</th>
            <th scope="col" class="num">orientation precision</th>
            <th scope="col" class="num">orientation recall</th>
            <th scope="col" class="num">orientation F1</th>
          </tr>
        </thead>
        <tbody>
          {comparisons.map((c) => (
            <tr data-against={String(c.with)}>
              <th scope="row">{label(c)}</th>
              <td class="num">{c.shd}</td>
              <td class="num">{formatNumber(c.edges.precision)}</td>
              <td class="num">{formatNumber(c.edges.recall)}</td>
              <td class="num">{formatNumber(c.edges.f1)}</td>
              <td class="num" data-score="orientation-precision">{formatNumber(c.orientations.precision)}</td>
              <td class="num" data-score="orientation-recall">{formatNumber(c.orientations.recall)}</td>
              <td class="num">{formatNumber(c.orientations.f1)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
