/**
 * Ridge-penalised logistic regression fitted by a few IRLS (Newton) steps. Small and dense on
 * purpose: it runs on a handful of standardised behaviour features, so a d×d solve is trivial.
 */

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
  const beta = new Array<number>(d + 1).fill(0);
  if (n === 0) return { intercept: 0, coefficients: new Array<number>(d).fill(0), iterations: 0 };
  // Start the intercept at the log-odds of the base rate so the first step is already sensible.
  const rate = Math.min(1 - 1e-6, Math.max(1e-6, y.reduce((a, b) => a + b, 0) / n));
  beta[0] = Math.log(rate / (1 - rate));
  let done = 0;
  for (let it = 0; it < iterations; it++) {
    const hessian = Array.from({ length: d + 1 }, () => new Array<number>(d + 1).fill(0));
    const gradient = new Array<number>(d + 1).fill(0);
    for (let i = 0; i < n; i++) {
      const row = x[i]!;
      const p = sigmoid(linear(beta, row));
      const w = Math.max(p * (1 - p), 1e-9);
      const r = y[i]! - p;
      for (let a = 0; a <= d; a++) {
        const xa = a === 0 ? 1 : row[a - 1]!;
        gradient[a]! += xa * r;
        for (let b = a; b <= d; b++) {
          const xb = b === 0 ? 1 : row[b - 1]!;
          hessian[a]![b]! += w * xa * xb;
        }
      }
    }
    for (let a = 0; a <= d; a++) for (let b = 0; b < a; b++) hessian[a]![b] = hessian[b]![a]!;
    for (let a = 1; a <= d; a++) {
      hessian[a]![a]! += l2 * n;
      gradient[a]! -= l2 * n * beta[a]!;
    }
    const step = solveLinearSystem(hessian, gradient);
    let maxStep = 0;
    for (let a = 0; a <= d; a++) {
      beta[a]! += step[a]!;
      maxStep = Math.max(maxStep, Math.abs(step[a]!));
    }
    done = it + 1;
    if (maxStep < 1e-8) break;
  }
  return { intercept: beta[0]!, coefficients: beta.slice(1), iterations: done };
}

/** Predicted probability for one standardised row. */
export function predictLogistic(model: LogisticModel, row: number[]): number {
  return sigmoid(linear([model.intercept, ...model.coefficients], row));
}

function linear(beta: number[], row: number[]): number {
  let z = beta[0]!;
  for (let j = 0; j < row.length; j++) z += beta[j + 1]! * row[j]!;
  return z;
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** Gaussian elimination with partial pivoting; the matrix is small and positive definite here. */
export function solveLinearSystem(matrix: number[][], rhs: number[]): number[] {
  const m = matrix.length;
  const a = matrix.map((row, i) => [...row, rhs[i]!]);
  for (let col = 0; col < m; col++) {
    let pivot = col;
    for (let r = col + 1; r < m; r++) if (Math.abs(a[r]![col]!) > Math.abs(a[pivot]![col]!)) pivot = r;
    [a[col], a[pivot]] = [a[pivot]!, a[col]!];
    const p = a[col]![col]!;
    if (Math.abs(p) < 1e-12) continue;
    for (let r = col + 1; r < m; r++) {
      const f = a[r]![col]! / p;
      if (f === 0) continue;
      for (let c = col; c <= m; c++) a[r]![c]! -= f * a[col]![c]!;
    }
  }
  const out = new Array<number>(m).fill(0);
  for (let r = m - 1; r >= 0; r--) {
    const p = a[r]![r]!;
    if (Math.abs(p) < 1e-12) continue;
    let s = a[r]![m]!;
    for (let c = r + 1; c < m; c++) s -= a[r]![c]! * out[c]!;
    out[r] = s / p;
  }
  return out;
}
