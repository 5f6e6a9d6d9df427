/**
 * Globally adaptive Gauss–Kronrod quadrature (G7/K15, QUADPACK's qk15 nodes) of a vector-valued
 * integrand, for the Beta posterior integrals. Every component is integrated on the same nodes, so
 * e.g. P(X > Y) and P(X < Y) come from one pass and both keep their own precision. jStat has only
 * fixed-panel rules, which cannot follow a narrow peak inside a wide range.
 */

const XGK = [0.991455371120812639206854697526329, 0.949107912342758524526189684047851, 0.864864423359769072789712788640926, 0.741531185599394439863864773280788, 0.586087235467691130294144845693013, 0.405845151377397166906606412076961, 0.207784955007898467600689403773245, 0];
const WGK = [0.02293532201052922496373200805897, 0.063092092629978553290700663189204, 0.104790010322250183839876322541518, 0.140653259715525918745189590510238, 0.16900472663926790282658342659855, 0.190350578064785409913256402421014, 0.204432940075298892414161999234649, 0.209482141084727828012999174891714];
// Gauss 7-point weights at XGK[1], XGK[3], XGK[5], XGK[7].
const WG = [0.129484966168869693270611432679082, 0.27970539148927666790146777142378, 0.381830050505118944950369775488975, 0.417959183673469387755102040816327];

interface Panel {
  lo: number;
  hi: number;
  value: number[];
  error: number[];
}

export interface QuadratureOptions {
  /** Absolute tolerance per component. Default 1e-13. */
  absTol?: number;
  /** Relative tolerance per component. Default 1e-10. */
  relTol?: number;
  /** Upper bound on panels (each costs 15 evaluations). Default 400. */
  maxPanels?: number;
}

function kronrod(f: (x: number) => readonly number[], lo: number, hi: number, dim: number): Panel {
  const c = 0.5 * (lo + hi);
  const h = 0.5 * (hi - lo);
  const k = new Array<number>(dim).fill(0);
  const g = new Array<number>(dim).fill(0);
  for (let i = 0; i < 8; i++) {
    const xs = i === 7 ? [c] : [c - h * (XGK[i] as number), c + h * (XGK[i] as number)];
    for (const x of xs) {
      const v = f(x);
      for (let d = 0; d < dim; d++) {
        const y = v[d] as number;
        k[d] = (k[d] as number) + (WGK[i] as number) * y;
        if (i % 2 === 1) g[d] = (g[d] as number) + (WG[(i - 1) / 2] as number) * y;
      }
    }
  }
  const value = k.map((v) => v * h);
  // |K15 − G7| bounds the G7 error, so it is a conservative estimate for the K15 value.
  const error = k.map((v, d) => Math.abs((v - (g[d] as number)) * h));
  return { lo, hi, value, error };
}

/**
 * ∫ f over [breaks[0], breaks[last]], with the breakpoints as the first panels (put them where the
 * integrand has its features). Refines the panel with the largest scaled error until every component
 * meets max(absTol, relTol·|value|).
 */
export function integrateAdaptive(f: (x: number) => readonly number[], breaks: readonly number[], dim: number, options: QuadratureOptions = {}): number[] {
  const absTol = options.absTol ?? 1e-13;
  const relTol = options.relTol ?? 1e-10;
  const maxPanels = options.maxPanels ?? 400;
  const sorted = [...new Set(breaks.filter((b) => Number.isFinite(b)))].sort((a, b) => a - b);
  const panels: Panel[] = [];
  for (let i = 0; i + 1 < sorted.length; i++) panels.push(kronrod(f, sorted[i] as number, sorted[i + 1] as number, dim));
  const sum = (key: 'value' | 'error') => {
    const out = new Array<number>(dim).fill(0);
    for (const p of panels) for (let d = 0; d < dim; d++) out[d] = (out[d] as number) + (p[key][d] as number);
    return out;
  };
  const total = sum('value');
  const err = sum('error');
  const add = (p: Panel, sign: number) => {
    for (let d = 0; d < dim; d++) {
      total[d] = (total[d] as number) + sign * (p.value[d] as number);
      err[d] = (err[d] as number) + sign * (p.error[d] as number);
    }
  };
  while (panels.length > 0 && panels.length < maxPanels) {
    const tol = total.map((v) => Math.max(absTol, relTol * Math.abs(v)));
    if (err.every((e, d) => e <= (tol[d] as number))) break;
    // Split the panel with the largest error relative to its component's tolerance.
    let worst = -1;
    let worstScore = 0;
    panels.forEach((p, i) => {
      let score = 0;
      for (let d = 0; d < dim; d++) score = Math.max(score, (p.error[d] as number) / (tol[d] as number));
      if (score > worstScore) {
        worstScore = score;
        worst = i;
      }
    });
    const p = panels[worst];
    if (!p) break;
    const mid = 0.5 * (p.lo + p.hi);
    if (!(mid > p.lo && mid < p.hi)) break; // cannot split further in double precision
    const left = kronrod(f, p.lo, mid, dim);
    const right = kronrod(f, mid, p.hi, dim);
    panels.splice(worst, 1, left, right);
    add(p, -1);
    add(left, 1);
    add(right, 1);
  }
  return sum('value');
}
