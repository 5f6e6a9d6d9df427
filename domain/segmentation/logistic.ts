/**
 * Ridge-penalised logistic regression fitted by a few IRLS (Newton) steps. Small and dense on
 * purpose: it runs on a handful of standardised behaviour features, so a d×d solve is trivial.
 */
import { at } from '../at.js';

/** Fitted logistic model: p = 1 / (1 + exp(-(intercept + Σ coef·x))). */
export interface LogisticModel {
  intercept: number;
  coefficients: number[];
  iterations: number;
}

export interface LogisticOptions {
  /** Newton steps; 8 is plenty for standardised inputs (quadratic convergence). */
  iterations?: number;
  /** L2 penalty on the coefficients (not the intercept); keeps separable data finite. */
  l2?: number;
}

/** Fits P(y=1 | x) by IRLS with an L2 ridge; rows of `x` should already be standardised. */
export function fitLogistic(x: number[][], y: number[], options: LogisticOptions = {}): LogisticModel {
  const iterations = options.iterations ?? 8;
  const l2 = options.l2 ?? 1e-2;
  const d = x[0]?.length ?? 0;
  const n = x.length;
  if (y.length !== n) throw new RangeError(`fitLogistic: y has ${y.length} labels for ${n} rows of x`);
  for (const [i, row] of x.entries()) {
    if (row.length !== d) throw new RangeError(`fitLogistic: x row ${i} has ${row.length} features, row 0 has ${d}`);
  }
  let beta = new Array<number>(d + 1).fill(0);
  if (n === 0) return { intercept: 0, coefficients: new Array<number>(d).fill(0), iterations: 0 };
  // Start the intercept at the log-odds of the base rate so the first step is already sensible.
  const rate = Math.min(1 - 1e-6, Math.max(1e-6, y.reduce((a, b) => a + b, 0) / n));
  beta[0] = Math.log(rate / (1 - rate));
  let done = 0;
  for (let it = 0; it < iterations; it++) {
    const hessian = Array.from({ length: d + 1 }, () => new Array<number>(d + 1).fill(0));
    const gradient = new Array<number>(d + 1).fill(0);
    for (const [i, row] of x.entries()) {
      const p = sigmoid(linear(beta, row));
      const w = Math.max(p * (1 - p), 1e-9);
      const r = at(y, i, 'y') - p;
      const xs = [1, ...row];
      for (const [a, h] of hessian.entries()) {
        const xa = at(xs, a, 'row');
        gradient[a] = at(gradient, a, 'gradient') + xa * r;
        for (let b = a; b <= d; b++) h[b] = at(h, b, 'hessian row') + w * xa * at(xs, b, 'row');
      }
    }
    for (const [a, h] of hessian.entries()) {
      for (let b = 0; b < a; b++) h[b] = at(at(hessian, b, 'hessian'), a, 'hessian row');
      if (a > 0) {
        h[a] = at(h, a, 'hessian row') + l2 * n;
        gradient[a] = at(gradient, a, 'gradient') - l2 * n * at(beta, a, 'beta');
      }
    }
    const step = solveLinearSystem(hessian, gradient);
    beta = beta.map((b, a) => b + at(step, a, 'step'));
    const maxStep = step.reduce((m, s) => Math.max(m, Math.abs(s)), 0);
    done = it + 1;
    if (maxStep < 1e-8) break;
  }
  const [intercept = 0, ...coefficients] = beta;
  return { intercept, coefficients, iterations: done };
}

/** Predicted probability for one standardised row. */
export function predictLogistic(model: LogisticModel, row: number[]): number {
  if (row.length !== model.coefficients.length) {
    throw new RangeError(`predictLogistic: row has ${row.length} features, the model ${model.coefficients.length}`);
  }
  return sigmoid(linear([model.intercept, ...model.coefficients], row));
}

/** beta[0] + Σ beta[j+1]·row[j]; callers check that beta has one more entry than row. */
function linear(beta: number[], row: number[]): number {
  let z = at(beta, 0, 'beta');
  for (const [j, xj] of row.entries()) z += at(beta, j + 1, 'beta') * xj;
  return z;
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** Gaussian elimination with partial pivoting; the matrix is small and positive definite here. */
export function solveLinearSystem(matrix: number[][], rhs: number[]): number[] {
  const m = matrix.length;
  if (rhs.length !== m) throw new RangeError(`solveLinearSystem: rhs has ${rhs.length} entries for a ${m}×${m} matrix`);
  const a = matrix.map((row, i) => {
    if (row.length !== m) throw new RangeError(`solveLinearSystem: matrix row ${i} has ${row.length} columns, expected ${m}`);
    return [...row, at(rhs, i, 'rhs')];
  });
  const rowAt = (r: number) => at(a, r, 'matrix');
  for (let col = 0; col < m; col++) {
    let pivot = col;
    for (let r = col + 1; r < m; r++) if (Math.abs(at(rowAt(r), col, 'row')) > Math.abs(at(rowAt(pivot), col, 'row'))) pivot = r;
    const top = rowAt(pivot);
    a[pivot] = rowAt(col);
    a[col] = top;
    const p = at(top, col, 'row');
    if (Math.abs(p) < 1e-12) continue;
    for (let r = col + 1; r < m; r++) {
      const below = rowAt(r);
      const f = at(below, col, 'row') / p;
      if (f === 0) continue;
      for (let c = col; c <= m; c++) below[c] = at(below, c, 'row') - f * at(top, c, 'row');
    }
  }
  const out = new Array<number>(m).fill(0);
  for (let r = m - 1; r >= 0; r--) {
    const row = rowAt(r);
    const p = at(row, r, 'row');
    if (Math.abs(p) < 1e-12) continue;
    let s = at(row, m, 'row');
    for (let c = r + 1; c < m; c++) s -= at(row, c, 'row') * at(out, c, 'solution');
    out[r] = s / p;
  }
  return out;
}
