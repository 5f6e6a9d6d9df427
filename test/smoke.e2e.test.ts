import { describe, expect, it } from 'vitest';
import { startApi } from '../api/main.js';
import { startWorker } from '../worker.js';
import { testConfig, uniqueSuffix } from './helpers/services.js';

describe('smoke', () => {
  it('creates an experiment and assigns', async () => {
    const config = testConfig();
    const worker = await startWorker(config);
    const api = await startApi(config, 0);
    try {
      const key = `smoke-${uniqueSuffix()}`;
      const res = await fetch(`${api.url}/experiments`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          key, name: 'Smoke', kind: 'ab', owner: 'tests',
          variants: [{ key: 'control', weight: 0.5, control: true }, { key: 'treatment', weight: 0.5 }],
          config: { metrics: [{ key: 'conv', event: 'purchase', type: 'binary', role: 'primary' }], cycleIntervalSeconds: 3600 },
        }),
      });
      const body = await res.json();
      expect(res.status, JSON.stringify(body)).toBe(201);
      const a = await fetch(`${api.url}/assign`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ experiment: key, unitId: 'u1' }) });
      const ab = await a.json();
      expect(a.status, JSON.stringify(ab)).toBe(200);
      expect(['control', 'treatment']).toContain(ab.variant);
      const r = await fetch(`${api.url}/experiments/${key}/run-cycle`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      const rb = await r.json();
      expect(r.status, JSON.stringify(rb)).toBe(200);
      expect(rb.cycle).toBe(1);
    } finally {
      await api.close();
      await worker.close();
    }
  });
});
