import { describe, expect, it } from 'vitest';
import { aggregationSpec } from '../../../domain/experiment/aggregation-spec.js';
import { experimentConfigSchema } from '../../../domain/experiment/config.js';

describe('aggregationSpec', () => {
  it('tracks every metric and segmentation event once, sorted, with the attribution window in seconds', () => {
    const config = experimentConfigSchema.parse({
      metrics: [
        { key: 'conv', event: 'purchase', type: 'binary', role: 'primary' },
        { key: 'rev', event: 'purchase', type: 'continuous', role: 'secondary' },
        { key: 'err', event: 'error', type: 'count', role: 'guardrail', direction: 'decrease' },
      ],
      segmentation: { enabled: true, features: [{ name: 'clicks', event: 'click', agg: 'count' }], conversionEvent: 'signup' },
      attribution: { lookbackSeconds: 120, windowHours: 2 },
    });
    expect(aggregationSpec(config)).toEqual({ names: ['click', 'error', 'purchase', 'signup'], lookbackSeconds: 120, windowSeconds: 7200 });
  });

  it('has no window end unless windowHours is set', () => {
    const config = experimentConfigSchema.parse({ metrics: [{ key: 'conv', event: 'purchase', type: 'binary', role: 'primary' }] });
    expect(aggregationSpec(config)).toEqual({ names: ['purchase'], lookbackSeconds: 600, windowSeconds: null });
  });
});
