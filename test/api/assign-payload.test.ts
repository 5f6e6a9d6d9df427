/** POST /assign answers with the served variant's payload from the experiment config, and creation bounds its size. */
import { describe, expect, it } from 'vitest';
import { uniqueSuffix } from '../helpers/services.js';
import { useStack } from '../helpers/stack.js';

const stack = useStack();

const experiment = (key: string, treatmentPayload: Record<string, unknown>) => ({
  key, name: key, kind: 'ab', owner: 'tests',
  variants: [{ key: 'control', weight: 0.5, control: true }, { key: 'treatment', weight: 0.5, payload: treatmentPayload }],
  config: { metrics: [{ key: 'purchase', event: 'purchase', type: 'binary', role: 'primary' }], cycleIntervalSeconds: 3600 },
});

describe('variant payloads', () => {
  it('returns the served variant payload with each assignment', async () => {
    const key = `payload-${uniqueSuffix()}`;
    const payload = { modelUri: 's3://models/ranker/v7', params: { temperature: 0.2, topK: 5 } };
    const created = await stack.post('/experiments', experiment(key, payload));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const seen = new Map<string, unknown>();
    for (let i = 0; i < 40 && seen.size < 2; i++) {
      const a = await stack.post('/assign', { experiment: key, unitId: `u${i}` });
      expect(a.status).toBe(200);
      seen.set(a.body.variant, a.body.payload);
    }
    expect(seen.get('treatment')).toEqual(payload);
    expect(seen.get('control')).toEqual({});
  });

  it('refuses a payload over 8 KB or holding a NUL, naming the field', async () => {
    const big = await stack.post('/experiments', experiment(`payload-big-${uniqueSuffix()}`, { blob: 'x'.repeat(9000) }));
    expect(big.status).toBe(400);
    expect(big.body.error.message).toMatch(/^variants\[1\]\.payload: at most 8192 bytes/);
    const nul = await stack.post('/experiments', experiment(`payload-nul-${uniqueSuffix()}`, { a: 'b\u0000' }));
    expect(nul.status).toBe(400);
    expect(nul.body.error.message).toMatch(/^variants\[1\]\.payload\.a: must not contain the NUL/);
  });

  it('refuses a unit id holding a NUL on /assign', async () => {
    const r = await stack.post('/assign', { experiment: 'whatever', unitId: 'a\u0000b' });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/^unitId: must not contain the NUL/);
  });
});
