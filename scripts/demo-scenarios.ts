/**
 * The demo's two experiments.
 * - `arms` (default): three checkout buttons, one truly better; Thompson sampling moves traffic to it
 *   and always-valid statistics ship it.
 * - `segments` (--segments): a new onboarding flow that helps engaged users and hurts casual ones.
 *   expflow segments users by behaviour (k-means), places new users by their context, gives each
 *   segment its own weights, and concludes per segment with multiplicity control.
 */
import type { Rng } from '../domain/rng.js';
import type { Persona } from '../sim/traffic.js';

export interface DemoScenario {
  title: string;
  planted: string;
  experiment: Record<string, unknown>;
  unitsPerWave: number;
  persona?: (i: number, rng: Rng) => Persona;
  rates: Record<string, number>;
  variants: string[];
}

export const armsScenario: DemoScenario = {
  title: 'Demo: checkout button colour',
  planted: 'conversion control 10.0%, blue 10.5%, green 13.5%',
  rates: { control: 0.1, blue: 0.105, green: 0.135 },
  variants: ['control', 'blue', 'green'],
  unitsPerWave: 300,
  experiment: {
    hypothesis: 'A green checkout button lifts purchases',
    kind: 'multi_arm',
    variants: [
      { key: 'control', weight: 1 / 3 + 1e-12, control: true },
      { key: 'blue', weight: 1 / 3 },
      { key: 'green', weight: 1 / 3 },
    ],
    config: {
      metrics: [{ key: 'purchase', event: 'purchase', type: 'binary', role: 'primary' }],
      cycleIntervalSeconds: 3,
      policy: { kind: 'thompson' },
      bounds: { floor: 0.1, max: 0.8, maxChange: 0.15 },
      maxCycles: 200,
    },
  },
};

/** Engaged users (long tenure, many clicks, long dwell) gain from the new flow; casual users lose. */
function onboardingPersona(i: number, rng: Rng): Persona {
  const engaged = rng() < 0.4;
  const clicks = engaged ? 6 + Math.floor(rng() * 5) : 1 + Math.floor(rng() * 2);
  const dwell = engaged ? 80 + 60 * rng() : 3 + 7 * rng();
  return {
    context: { tenure: engaged ? 20 + Math.floor(rng() * 20) : 1 + Math.floor(rng() * 5) },
    behaviour: [...Array.from({ length: clicks }, () => ({ name: 'click', value: 1 })), { name: 'dwell', value: dwell }],
    rates: engaged ? { control: 0.15, new_flow: 0.27 } : { control: 0.1, new_flow: 0.06 },
  };
}

export const segmentsScenario: DemoScenario = {
  title: 'Demo: new onboarding flow, per segment',
  planted: 'engaged users 15% → 27% with the new flow, casual users 10% → 6%',
  rates: { control: 0.12, new_flow: 0.12 },
  variants: ['control', 'new_flow'],
  unitsPerWave: 400,
  persona: onboardingPersona,
  experiment: {
    hypothesis: 'The new onboarding flow lifts activation',
    kind: 'ab',
    variants: [
      { key: 'control', weight: 0.5, control: true },
      { key: 'new_flow', weight: 0.5 },
    ],
    config: {
      metrics: [{ key: 'activation', event: 'purchase', type: 'binary', role: 'primary' }],
      cycleIntervalSeconds: 3,
      policy: { kind: 'thompson' },
      bounds: { floor: 0.1, max: 0.9, maxChange: 0.2 },
      maxCycles: 200,
      segmentation: {
        enabled: true,
        kMin: 2,
        kMax: 4,
        features: [
          { name: 'clicks', event: 'click', agg: 'count' },
          { name: 'dwell', event: 'dwell', agg: 'sum' },
        ],
        contextFeatures: ['tenure'],
        minSegmentSize: 100,
      },
    },
  },
};
