/** What every decision rule returns besides its verdict: which rule spoke, and why, with its numbers. */
export interface RuleNote {
  rule: 'readiness' | 'srm' | 'guardrail' | 'harm' | 'method' | 'practical-significance' | 'horizon' | 'arm-weight' | 'rollback';
  rationale: string;
}

/** Compact number formatting for rationales. */
export function fmt(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return String(x);
  return Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(2) : Number(x.toPrecision(digits)).toString();
}

export function pct(x: number): string {
  return `${(100 * x).toFixed(2)}%`;
}
