/**
 * Shadow mode on the running API and Postgres: a version registered in shadow is never served (no
 * comparison, not in any snapshot); callers log its predictions; its scores against the served units'
 * outcomes match a hand computation; then it is promoted to challenger.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeEvents, writeExposures } from '../../infra/ingest.js';
import { uniqueSuffix } from '../helpers/services.js';
import { useStack } from '../helpers/stack.js';

const stack = useStack();
const pool = new pg.Pool({ connectionString: stack.config.databaseUrl, max: 2 });
afterAll(async () => pool.end());

const key = `shadow-${uniqueSuffix()}`;
const entity = `store-${uniqueSuffix()}`;
const comparison = { config: { metrics: [{ key: 'conv', event: 'purchase', type: 'binary', role: 'primary' }], cycleIntervalSeconds: 3600, policy: { kind: 'fixed' } } };

beforeAll(async () => {
  const created = await stack.post('/experiments', {
    key,
    name: 'served traffic',
    kind: 'ab',
    owner: 'e2e@expflow',
    variants: [
      { key: 'a', weight: 0.5, control: true },
      { key: 'b', weight: 0.5 },
    ],
    config: { metrics: [{ key: 'conv', event: 'purchase', type: 'binary', role: 'primary' }], cycleIntervalSeconds: 3600, policy: { kind: 'fixed' } },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  // Six served units: u1–u3 purchase. Four more for the policy: served a/b with propensities 0.5/0.5/0.25/0.75.
  const now = new Date().toISOString();
  const served: Array<[string, string, number]> = [
    ['u1', 'a', 0.5], ['u2', 'b', 0.5], ['u3', 'a', 0.5], ['u4', 'b', 0.5], ['u5', 'a', 0.5], ['u6', 'b', 0.5],
    ['p1', 'a', 0.5], ['p2', 'b', 0.5], ['p3', 'b', 0.25], ['p4', 'a', 0.75],
  ];
  await writeExposures(pool, served.map(([unitId, variant, propensity]) => ({ experiment: key, unitId, variant, propensity, segment: 0, snapshotVersion: 1, context: {}, assignedAt: now })));
  const purchases: Array<[string, number]> = [['u1', 1], ['u2', 1], ['u3', 1], ['p1', 1], ['p2', 1], ['p3', 2]];
  await writeEvents(pool, purchases.map(([unitId, value], i) => ({ eventId: `e${i}`, experiment: key, unitId, name: 'purchase', value, timestamp: now, context: {} })));
});

describe('shadow mode', () => {
  it('registers a shadow version that is never served, and scores its logged predictions', async () => {
    const champion = await stack.post('/models', { entity, modelType: 'ranker', version: 'v1', uri: 's3://models/v1' });
    expect(champion.body.model.status).toBe('champion');
    const shadow = await stack.post('/models', { entity, modelType: 'ranker', version: 'v2', uri: 's3://models/v2', shadow: true });
    expect(shadow.status, JSON.stringify(shadow.body)).toBe(201);
    expect(shadow.body).toMatchObject({ model: { status: 'shadow', experimentKey: null }, experiment: null });
    const experiments = (await stack.get('/experiments?limit=500')).body;
    expect(JSON.stringify(experiments)).not.toContain(`${entity}`);

    // Binary scores: positives 0.9, 0.6, 0.4; negatives 0.7, 0.2, 0.1; 'ghost' was never served.
    const scores: Array<[string, number]> = [['u1', 0.9], ['u2', 0.6], ['u3', 0.4], ['u4', 0.7], ['u5', 0.2], ['u6', 0.1], ['ghost', 0.5]];
    const logged = await stack.post('/predictions', { entity, modelType: 'ranker', version: 'v2', predictions: scores.map(([unitId, score]) => ({ unitId, score })) });
    expect(logged.body).toEqual({ accepted: 7, duplicates: 0 });
    const again = await stack.post('/predictions', { entity, modelType: 'ranker', version: 'v2', predictions: [{ unitId: 'u1', score: 0.1 }] });
    expect(again.body).toEqual({ accepted: 0, duplicates: 1 });

    const q = new URLSearchParams({ entity, modelType: 'ranker', version: 'v2', experiment: key, event: 'purchase', bins: '2' });
    const binary = await stack.get(`/models/shadow-scores?${q}`);
    expect(binary.status, JSON.stringify(binary.body)).toBe(200);
    expect(binary.body.servedUnits).toBe(6);
    expect(binary.body.scores.auc).toBeCloseTo(7 / 9, 12);
    expect(binary.body.scores.logLoss).toBeCloseTo(-(Math.log(0.9) + Math.log(0.6) + Math.log(0.4) + Math.log(0.3) + Math.log(0.8) + Math.log(0.9)) / 6, 12);
    expect(binary.body.scores.calibration.map((b: { n: number; observedRate: number }) => [b.n, b.observedRate])).toEqual([[3, 1 / 3], [3, 2 / 3]]);

    // A shadow policy: the action it would take per unit, scored where the served action matches.
    await stack.post('/models', { entity, modelType: 'ranker', version: 'v3', uri: 's3://models/v3', shadow: true });
    const actions: Array<[string, string]> = [['p1', 'a'], ['p2', 'a'], ['p3', 'b'], ['p4', 'b']];
    await stack.post('/predictions', { entity, modelType: 'ranker', version: 'v3', predictions: actions.map(([unitId, action]) => ({ unitId, action })) });
    const policy = await stack.get(`/models/shadow-scores?${new URLSearchParams({ entity, modelType: 'ranker', version: 'v3', experiment: key, event: 'purchase', kind: 'policy' })}`);
    // Matched: p1 (reward 1 / 0.5 = 2) and p3 (2 / 0.25 = 8); N = 4 → 2.5.
    expect(policy.body.scores).toMatchObject({ n: 4, matched: 2, value: 2.5, matchedMeanReward: 1.5 });
  });

  it('rejects bad predictions naming the field, and unknown versions', async () => {
    const bad = await stack.post('/predictions', { entity, modelType: 'ranker', version: 'v2', predictions: [{ unitId: 'u9' }] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^predictions\[0\]: score or action/);
    const outOfRange = await stack.post('/predictions', { entity, modelType: 'ranker', version: 'v2', predictions: [{ unitId: 'u9', score: 1.5 }] });
    expect(outOfRange.status).toBe(400);
    expect(outOfRange.body.error.message).toMatch(/^predictions\[0\]\.score/);
    const unknown = await stack.post('/predictions', { entity, modelType: 'ranker', version: 'nope', predictions: [{ unitId: 'u9', score: 0.5 }] });
    expect(unknown.status).toBe(404);
  });

  it('promotes a shadow version to challenger: a comparison with the champion starts', async () => {
    const promoted = await stack.post('/models/promote', { entity, modelType: 'ranker', version: 'v2', comparison });
    expect(promoted.status, JSON.stringify(promoted.body)).toBe(200);
    expect(promoted.body.model.status).toBe('candidate');
    expect(promoted.body.experiment.kind).toBe('model_comparison');
    const again = await stack.post('/models/promote', { entity, modelType: 'ranker', version: 'v2' });
    expect(again.status).toBe(409);
    expect(again.body.error.message).toMatch(/is candidate, not shadow/);
  });
});
