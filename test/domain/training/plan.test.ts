import { describe, expect, it } from 'vitest';
import { settleComparison } from '../../../domain/models/comparison.js';
import { datasetFingerprint, isDue, planRetraining, type PolicyState } from '../../../domain/training/plan.js';
import { trainingPolicySchema, trainingScheduleId, trainingSpecSchema } from '../../../domain/training/policy.js';

const NOW = Date.parse('2026-11-30T12:00:00Z');
const HOUR = 3_600_000;
const bull = { kind: 'bullmq' as const, queue: 'train' };

function policy(modelType: string, over: Partial<PolicyState> & { dataset?: { id: string; transform?: Record<string, unknown>; fingerprint?: string }; candidates?: string[] } = {}): PolicyState {
  const spec = trainingSpecSchema.parse({
    dataset: { transform: {}, ...(over.dataset ?? { id: 'clicks' }) },
    candidates: (over.candidates ?? ['default']).map((name) => ({ name })),
    waitForVersionsSeconds: 60,
    owner: 't',
  });
  return { modelType, trainer: bull, spec, lastTrainedAt: null, periodMs: 24 * HOUR, triggered: false, ...over };
}

describe('retraining plan', () => {
  it('groups every due model sharing a fingerprint into one request (one transformation)', () => {
    const plan = planRetraining(
      [
        policy('ranker', { triggered: true, candidates: ['gbdt', 'linear'] }),
        policy('classifier', { lastTrainedAt: new Date(NOW - 25 * HOUR).toISOString() }),
        policy('embedder', { dataset: { id: 'catalog' }, lastTrainedAt: new Date(NOW - 30 * HOUR).toISOString() }),
        policy('recent', { lastTrainedAt: new Date(NOW - 2 * HOUR).toISOString() }),
      ],
      NOW,
    );
    expect(plan.due).toEqual(['classifier', 'embedder', 'ranker']);
    expect(plan.skipped).toEqual([{ modelType: 'recent', reason: 'trained 7200 s ago, next in 79200 s' }]);
    expect(plan.groups.map((g) => [g.dataset.id, g.requests.map((r) => r.requestId)])).toEqual([
      ['clicks', ['classifier/default', 'ranker/gbdt', 'ranker/linear']],
      ['catalog', ['embedder/default']],
    ]);
  });

  it('splits a fingerprint by trainer and by transform, and keys transforms whatever their key order', () => {
    const a = datasetFingerprint({ id: 'clicks', transform: { window: '30d', dedupe: true } });
    expect(datasetFingerprint({ id: 'clicks', transform: { dedupe: true, window: '30d' } })).toBe(a);
    expect(datasetFingerprint({ id: 'clicks', transform: { window: '7d', dedupe: true } })).not.toBe(a);
    expect(datasetFingerprint({ id: 'clicks', transform: {}, fingerprint: 'mine-1' })).toBe('mine-1');
    const plan = planRetraining(
      [
        policy('a', { triggered: true }),
        policy('b', { triggered: true, trainer: { kind: 'webhook', url: 'https://t.example/train' } }),
        policy('c', { triggered: true, dataset: { id: 'clicks', transform: { window: '7d' } } }),
      ],
      NOW,
    );
    expect(plan.groups).toHaveLength(3);
  });

  it('decides what is due', () => {
    const cases: Array<[Partial<PolicyState>, boolean]> = [
      [{ triggered: true, lastTrainedAt: new Date(NOW).toISOString() }, true],
      [{ lastTrainedAt: null }, true],
      [{ lastTrainedAt: new Date(NOW - 23 * HOUR).toISOString() }, true], // within 5% of the period: schedules jitter
      [{ lastTrainedAt: new Date(NOW - 22 * HOUR).toISOString() }, false],
      [{ lastTrainedAt: new Date(NOW - 100 * HOUR).toISOString(), periodMs: null }, false], // cron with no known period
    ];
    for (const [over, due] of cases) expect(isDue(policy('x', over), NOW).due, JSON.stringify(over)).toBe(due);
  });
});

describe('training policy', () => {
  it('fills defaults and names schedules stably', () => {
    const p = trainingPolicySchema.parse({ frequency: { cron: '0 3 * * 1' }, trainer: bull, dataset: { id: 'd' } });
    expect(p.candidates).toEqual([{ name: 'default', params: {} }]);
    expect(p.waitForVersionsSeconds).toBe(21_600);
    expect(trainingScheduleId('Shop A', 'ranker')).toBe(trainingScheduleId('Shop A', 'ranker'));
    expect(trainingScheduleId('shop/a', 'ranker')).not.toBe(trainingScheduleId('shop-a', 'ranker'));
    expect(trainingScheduleId('x'.repeat(100), 'y'.repeat(100)).length).toBeLessThanOrEqual(90);
  });
});

describe('settling a comparison', () => {
  const champion = { id: 'c0', isCurrent: true };
  const challengers = [
    { arm: 'challenger-1', id: 'c1' },
    { arm: 'challenger-2', id: 'c2' },
  ];
  it('promotes a shipped challenger and retires the rest, champion last so there is never two', () => {
    expect(settleComparison({ phase: 'concluded', winner: 'challenger-2', champion, challengers })).toEqual({
      promoted: 'c2',
      changes: [
        { id: 'c0', status: 'retired' },
        { id: 'c1', status: 'retired' },
        { id: 'c2', status: 'champion' },
      ],
    });
  });
  it('rejects every challenger when the champion wins, the test stops, or the champion changed meanwhile', () => {
    const rejected = { promoted: null, changes: [{ id: 'c1', status: 'rejected' }, { id: 'c2', status: 'rejected' }] };
    expect(settleComparison({ phase: 'concluded', winner: 'champion', champion, challengers })).toEqual(rejected);
    expect(settleComparison({ phase: 'stopped', winner: 'challenger-1', champion, challengers })).toEqual(rejected);
    expect(settleComparison({ phase: 'concluded', winner: 'challenger-1', champion: { id: 'c0', isCurrent: false }, challengers })).toEqual(rejected);
  });
});
