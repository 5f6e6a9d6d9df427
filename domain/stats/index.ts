/** Pure statistics for expflow: every export is a function of plain data (and an explicit rng). */
export * from './normal.js';
export * from './moments.js';
export * from './effects.js';
export * from './proportions.js';
export * from './means.js';
export * from './ratio.js';
export * from './chi-square.js';
export * from './srm.js';
export * from './bayesian.js';
export * from './beta-comparison.js';
export * from './sequential.js';
export * from './group-sequential.js';
export * from './multiple-testing.js';
export * from './power.js';
export * from './adaptive.js';
