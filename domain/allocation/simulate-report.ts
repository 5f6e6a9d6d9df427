/** Plain-text tables of simulation results, shared by `expflow simulate` and bench:bandits. */
import type { PolicySummary } from './simulate.js';

export const POLICY_COLUMNS = ['policy', 'runs', 'regret (mean ± sd)', 'best-arm share', 'harm vs control', 'decision', 'correct'];

/** One policy's row, in POLICY_COLUMNS order. */
export function policyCells(p: PolicySummary): string[] {
  return [
    p.label,
    String(p.runs),
    `${p.regretMean.toFixed(1)} ± ${p.regretSd.toFixed(1)}`,
    `${(100 * p.bestArmShare).toFixed(1)}%`,
    p.harmMean.toFixed(1),
    `${p.decision} (${p.decisionCount}/${p.runs})`,
    `${(100 * p.correctRate).toFixed(0)}%`,
  ];
}

/** Left-aligned columns with a rule under the header, one string per line. */
export function alignColumns(header: string[], rows: string[][]): string[] {
  // Rows may be shorter than the header (a blank cell) or longer (unpadded overflow).
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}
