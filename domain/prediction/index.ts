/** Public surface of time-to-significance prediction. */
export * from './power-baseline.js';
export * from './tree-model.js';
export * from './calibration.js';
export * from './simulate-history.js';
export * from './cold-start.js';
export * from './history-rows.js';
