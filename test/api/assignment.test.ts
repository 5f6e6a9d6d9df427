/**
 * POST /assign through the real API process, Redis and a running workflow: stickiness across a
 * weight change, permuted-block stratification, targeting, and propensity logging.
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { pseudonymiseUnitId } from '../../infra/unit-pseudonym.js';
import { uniqueSuffix, waitFor } from '../helpers/services.js';
import { useStack } from '../helpers/stack.js';

const stack = useStack();
const { config } = stack;
const post = (path: string, body: unknown) => stack.post(path, body);

async function create(key: string, config: Record<string, unknown> = {}) {
  const r = await post('/experiments', {
    key, name: key, kind: 'ab', owner: 'tests',
    variants: [{ key: 'control', weight: 0.5, control: true }, { key: 'treatment', weight: 0.5 }],
    config: { metrics: [{ key: 'purchase', event: 'purchase', type: 'binary', role: 'primary' }], cycleIntervalSeconds: 3600, ...config },
  });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
}

const assign = async (experiment: string, unitId: string, context: Record<string, unknown> = {}) => (await post('/assign', { experiment, unitId, context })).body;

describe('POST /assign', () => {
  it('keeps assigned units on their variant when weights change; new units follow the new weights', async () => {
    const key = `sticky-${uniqueSuffix()}`;
    await create(key);
    const before = new Map<string, string>();
    for (let i = 0; i < 300; i++) before.set(`u${i}`, (await assign(key, `u${i}`)).variant);
    const share = [...before.values()].filter((v) => v === 'treatment').length / before.size;
    expect(share).toBeGreaterThan(0.4);
    expect(share).toBeLessThan(0.6);

    const o = await post(`/experiments/${key}/allocation`, { weights: { control: 0.1, treatment: 0.9 }, actor: 'ops', reason: 'test' });
    expect(o.status, JSON.stringify(o.body)).toBe(200);
    await waitFor(async () => (await assign(key, 'probe-new')).snapshotVersion === o.body.version, { what: 'new snapshot in cache' });

    let moved = 0;
    for (const [unit, variant] of before) {
      const a = await assign(key, unit);
      if (a.variant !== variant) moved++;
      expect(a.reason).toBe('sticky');
    }
    expect(moved).toBe(0);
    let treated = 0;
    for (let i = 0; i < 300; i++) if ((await assign(key, `new-${i}`)).variant === 'treatment') treated++;
    expect(treated / 300).toBeGreaterThan(0.83);
  });

  it('balances arms within each stratum at every moment with permuted blocks', async () => {
    const key = `strata-${uniqueSuffix()}`;
    await create(key, { randomization: { type: 'stratified', strata: ['platform'] }, policy: { kind: 'fixed' } });
    const counts: Record<string, Record<string, number>> = {};
    for (let i = 0; i < 120; i++) {
      const platform = i % 3 === 0 ? 'ios' : 'android';
      const a = await assign(key, `s${i}`, { platform });
      expect(a.reason).toBe('stratified');
      const stratum = (counts[platform] ??= { control: 0, treatment: 0 });
      stratum[a.variant] = (stratum[a.variant] ?? 0) + 1;
      // Within a stratum the arms never differ by more than half a block.
      for (const c of Object.values(counts)) expect(Math.abs((c.control ?? 0) - (c.treatment ?? 0))).toBeLessThanOrEqual(1);
    }
    expect(counts.ios).toEqual({ control: 20, treatment: 20 });
    expect(counts.android).toEqual({ control: 40, treatment: 40 });
  });

  it('serves the default with a reason to ineligible units and logs propensities of enrolled ones', async () => {
    const key = `target-${uniqueSuffix()}`;
    await create(key, { targeting: { op: 'and', rules: [{ attr: 'country', op: 'in', values: ['PT', 'ES'] }, { attr: 'age', op: 'range', min: 18 }] } });
    const no = await assign(key, 'x1', { country: 'FR', age: 30 });
    expect(no).toMatchObject({ variant: 'control', enrolled: false, reason: 'not_eligible' });
    const minor = await assign(key, 'x2', { country: 'PT', age: 12 });
    expect(minor.reason).toBe('not_eligible');
    const yes = await assign(key, 'x3', { country: 'PT', age: 30 });
    expect(yes).toMatchObject({ enrolled: true, propensity: 0.5 });

    const db = new pg.Client({ connectionString: config.databaseUrl });
    await db.connect();
    try {
      const rows = await waitFor(async () => {
        const r = await db.query<{ unitId: string; propensity: number; snapshotVersion: number }>(
          `SELECT a."unitId", a.propensity, a."snapshotVersion" FROM "Assignment" a JOIN "Experiment" x ON x.id = a."experimentId" WHERE x.key = $1`,
          [key],
        );
        return r.rows.length ? r.rows : null;
      }, { what: 'exposure row' });
      // Stored under its keyed pseudonym, never the raw id.
      expect(rows).toEqual([{ unitId: pseudonymiseUnitId(config.unitIdKey, 'x3'), propensity: 0.5, snapshotVersion: yes.snapshotVersion }]);
    } finally {
      await db.end();
    }
  });

  it('pauses, resumes and stops through the API, and the served snapshot follows', async () => {
    const key = `steer-${uniqueSuffix()}`;
    await create(key);
    const early = await assign(key, 'early');
    expect((await post(`/experiments/${key}/pause`, { actor: 'ops', reason: 'incident' })).status).toBe(202);
    const detail = await waitFor(async () => {
      const d = (await (await fetch(`${stack.api.url}/experiments/${key}`)).json()) as any;
      return d.status === 'paused' ? d : null;
    }, { what: 'paused' });
    expect(detail.live.phase).toBe('paused');
    await waitFor(async () => (await assign(key, 'late')).reason === 'paused', { what: 'paused snapshot' });
    expect((await assign(key, 'early')).variant).toBe(early.variant); // enrolled units keep their variant
    const rejected = await post(`/experiments/${key}/run-cycle`, {});
    expect(rejected.status).toBe(409);
    expect(rejected.body.error.message).toMatch(/paused/);

    expect((await post(`/experiments/${key}/resume`, {})).status).toBe(202);
    await waitFor(async () => (await assign(key, 'later')).enrolled, { what: 'resumed snapshot' });
    expect((await post(`/experiments/${key}/stop`, { reason: 'metric broken' })).status).toBe(202);
    await waitFor(async () => (await assign(key, 'after-stop')).reason === 'stopped', { what: 'stopped snapshot' });
    const late = await post(`/experiments/${key}/resume`, {});
    expect(late.status).toBe(409);
    expect(late.body.error.message).toMatch(/is stopped/);
    const audit = await waitFor(async () => {
      const db = new pg.Client({ connectionString: config.databaseUrl });
      await db.connect();
      const r = await db.query<{ action: string; actor: string; reason: string }>(`SELECT action, actor, reason FROM "AuditLog" WHERE target = $1 ORDER BY id`, [key]);
      await db.end();
      return r.rows.length >= 4 ? r.rows : null;
    }, { what: 'audit rows' });
    expect(audit.map((r) => r.action)).toEqual(['experiment.create', 'experiment.paused', 'experiment.running', 'experiment.stopped']);
    // The authenticated caller (loopback, no keys) is the actor; the claimed name is a note.
    expect(audit[1]).toMatchObject({ actor: 'local (on behalf of ops)', reason: 'incident' });
    expect(audit[3]!.reason).toBe('metric broken');
  });

  it('dampens test traffic right after an external-context signal', async () => {
    const key = `news-${uniqueSuffix()}`;
    await create(key, { policy: { kind: 'fixed' } });
    // The first cycle starts with the workflow; let it finish so the signal's own cycle is observable.
    const first = await waitFor(async () => {
      const d = (await stack.get(`/experiments/${key}`)).body;
      return d.live?.cycle >= 1 ? d.live : null;
    }, { what: 'first cycle' });
    expect(first.weights['0'].treatment).toBeCloseTo(0.5, 5);
    const bad = await post(`/experiments/${key}/external-context`, { kind: 'bad-press', severity: 2 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^severity/);
    expect((await post(`/experiments/${key}/external-context`, { kind: 'bad-press', severity: 0.5 })).status).toBe(202);
    // The signal wakes the workflow: a cycle runs at once (the interval is an hour) and moves half
    // the test traffic to control.
    const live = await waitFor(async () => {
      const d = (await stack.get(`/experiments/${key}`)).body;
      return d.live?.cycle > first.cycle ? d.live : null;
    }, { what: 'dampened cycle' });
    expect(live.dampening.events).toMatchObject([{ kind: 'bad-press', severity: 0.5 }]);
    expect(live.weights['0'].treatment).toBeCloseTo(0.25, 2);
    expect(live.weights['0'].control).toBeCloseTo(0.75, 2);
  });
});
