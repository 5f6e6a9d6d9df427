/** Public surface of the traffic policy across segments and segment throttle rules (segment conclusions: domain/decision/segment-conclusions.ts). */
export * from './always-valid.js';
export * from './coverage.js';
export * from './throttle-rules.js';
