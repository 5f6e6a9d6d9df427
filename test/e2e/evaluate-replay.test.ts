/**
 * Offline evaluation of a real run on Temporal, PostgreSQL and Redis: an experiment is served in
 * two waves with a Thompson reallocation between them and decided online; `expflow evaluate
 * --replay` then reproduces every cycle's decision from the logged data and the stored snapshots,
 * and reports the first cycle that differs once a stored decision is tampered with. The same
 * evaluations run through `POST /evaluations`, inline and as an evaluationWorkflow.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driveTraffic } from '../../sim/traffic.js';
import { runExpflow } from '../helpers/cli.js';
import { uniqueSuffix, waitFor } from '../helpers/services.js';
import { useStack } from '../helpers/stack.js';

const stack = useStack();
const db = new pg.Client({ connectionString: stack.config.databaseUrl });
const dataDir = join(tmpdir(), `expflow-eval-${uniqueSuffix()}`);

const cli = (...args: string[]) => runExpflow(['evaluate', ...args], { DATABASE_URL: stack.config.databaseUrl, EVALUATION_DATA_DIR: dataDir });

beforeAll(async () => db.connect());
afterAll(async () => db.end());

const key = `replay-${uniqueSuffix()}`;
const entity = `checkout-${uniqueSuffix()}`;
let onlineDecisions: Array<{ cycle: number; outcome: string }> = [];

async function serve(prefix: string, count: number, experimentId: string, expected: { a: number; e: number }) {
  const t = await driveTraffic({ apiUrl: stack.api.url, experiment: key, unitPrefix: prefix, count, effect: { base: 0.1, rates: { control: 0.1, green: 0.2 } }, seed: prefix.length });
  expected.a += t.assigned;
  expected.e += t.conversions;
  await waitFor(async () => {
    const a = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM "Assignment" WHERE "experimentId" = $1', [experimentId]);
    // Stored unit ids are pseudonyms (HMAC at the API edge), so rows are found by experiment, not by unit prefix.
    const e = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM "Event" WHERE "experimentId" = $1', [experimentId]);
    return a.rows[0]!.n === expected.a && e.rows[0]!.n === expected.a + expected.e;
  }, { what: 'ingestion', timeoutMs: 60_000 });
}

describe('offline evaluation of a real run', () => {
  it('runs an experiment online in two waves until it decides', async () => {
    const created = await stack.post('/experiments', {
      key,
      name: 'Replay me',
      kind: 'ab',
      owner: 'e2e@expflow',
      variants: [
        { key: 'control', weight: 0.5, control: true },
        { key: 'green', weight: 0.5 },
      ],
      config: {
        entity,
        metrics: [{ key: 'purchase', event: 'purchase', type: 'binary', role: 'primary' }],
        cycleIntervalSeconds: 3600,
        // The first wave (~600 per arm) cannot decide yet: the decision waits for the second.
        minSamplePerArm: 900,
        policy: { kind: 'thompson' },
        bounds: { floor: 0.1, max: 0.9, maxChange: 0.2 },
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const experimentId = (await db.query<{ id: string }>('SELECT id FROM "Experiment" WHERE key = $1', [key])).rows[0]!.id;
    const expected = { a: 0, e: 0 };
    await serve(`${key}-w1`, 1200, experimentId, expected);
    const first = await stack.post(`/experiments/${key}/run-cycle`, {});
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    // The second wave is served the reallocated weights: a second analysis period.
    await serve(`${key}-w2`, 2500, experimentId, expected);
    let decided: string | null = null;
    for (let i = 0; i < 6 && !decided; i++) {
      const r = await stack.post(`/experiments/${key}/run-cycle`, {});
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      if (r.body.decision?.outcome !== 'continue') decided = r.body.decision?.outcome;
    }
    expect(decided).toBe('ship');
    const periods = await db.query<{ n: number }>('SELECT count(DISTINCT "snapshotVersion")::int AS n FROM "Assignment" WHERE "experimentId" = $1', [experimentId]);
    expect(periods.rows[0]!.n).toBeGreaterThan(1);
    onlineDecisions = (await db.query<{ cycle: number; outcome: string }>('SELECT cycle, outcome FROM "Decision" WHERE "experimentId" = $1 ORDER BY cycle', [experimentId])).rows;
    expect(onlineDecisions.length).toBeGreaterThan(1);
  }, 240_000);

  it('replays every cycle to the decision the online run took, cycle for cycle', async () => {
    const r = await cli('--experiment', key, '--replay', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.replay.firstDifference).toBeNull();
    expect(out.replay.cycles.map((c: any) => [c.cycle, c.replayed.outcome])).toEqual(onlineDecisions.map((d) => [d.cycle, d.outcome]));
    expect(out.replay.cycles.every((c: any) => c.rulesMatch && c.matches)).toBe(true);
    // Cycles run after each wave was ingested recompute exactly the cells the online run stored.
    // (The workflow's first cycle runs at start, while the first wave is in flight: rows committed
    // out of id order around its watermark could differ, which replay reports as data, not rules.)
    expect(out.replay.cycles.slice(1).every((c: any) => c.dataMatches)).toBe(true);
    expect(out.replay.final.replayed).toMatchObject({ outcome: 'ship', winner: 'green' });
    const table = await cli('--experiment', key, '--replay');
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(`replay reproduces all ${onlineDecisions.length} cycles; final decision ship (green)`);
  }, 180_000);

  it('reports the first cycle whose stored decision the rules do not reproduce, and exits 1', async () => {
    const last = onlineDecisions.at(-1)!;
    await db.query(`UPDATE "Decision" SET outcome = 'continue' WHERE "experimentId" = (SELECT id FROM "Experiment" WHERE key = $1) AND cycle = $2`, [key, last.cycle]);
    try {
      const r = await cli('--experiment', key, '--replay', '--json');
      expect(r.code, r.stderr).toBe(1);
      const out = JSON.parse(r.stdout);
      expect(out.replay.firstDifference).toMatchObject({ cycle: last.cycle, cause: 'rules', online: { outcome: 'continue' }, replayed: { outcome: 'ship' } });
    } finally {
      await db.query(`UPDATE "Decision" SET outcome = $3 WHERE "experimentId" = (SELECT id FROM "Experiment" WHERE key = $1) AND cycle = $2`, [key, last.cycle, last.outcome]);
    }
  }, 180_000);

  it('runs a running window and a what-if through the CLI', async () => {
    const w = await cli('--experiment', key, '--window', '1h', '--step', '30m', '--json');
    expect(w.code, w.stderr).toBe(0);
    const rows = JSON.parse(w.stdout).rows;
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r: any) => r.arm === 'green' && r.metric === 'purchase')).toBe(true);
    const p = await cli('--experiment', key, '--what-if');
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toMatch(/always green\s+dr\s+0\.\d+/);
  }, 180_000);

  it('serves the same evaluations over the API: inline, as a workflow, linked from the dataset', async () => {
    const inline = await stack.post('/evaluations', { kind: 'window', experiment: key, window: '1h', step: '1h' });
    expect(inline.status, JSON.stringify(inline.body)).toBe(201);
    expect(inline.body).toMatchObject({ status: 'succeeded', kind: 'window', workflowId: null });
    expect(inline.body.result.rows.length).toBeGreaterThan(0);

    const started = await stack.post('/evaluations', { kind: 'policy', experiment: key, mode: 'workflow', policies: [{ kind: 'always', arm: 'green' }, { kind: 'bandit', policy: { kind: 'thompson' } }] });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    expect(started.body.workflowId).toBe(`evaluation-${started.body.id}`);
    const done = await waitFor(async () => {
      const g = await stack.get(`/evaluations/${started.body.id}`);
      return g.body.status !== 'running' ? g.body : null;
    }, { what: 'evaluation workflow', timeoutMs: 60_000 });
    expect(done.status, done.error).toBe('succeeded');
    expect(done.result.policies.map((p: any) => p.label)).toEqual(['always green', 'bandit thompson']);
    const dr = done.result.policies[0].evaluation.estimates.find((e: any) => e.estimator === 'dr');
    expect(dr.value).toBeGreaterThan(0.12);

    const listed = await stack.get(`/datasets?entity=${entity}`);
    expect(listed.status).toBe(200);
    const ds = listed.body.datasets.find((x: any) => x.id === done.dataset.id);
    expect(ds).toMatchObject({ experiment: key, entity });
    expect(ds.evaluations.map((e: any) => e.href)).toContain(`/evaluations/${started.body.id}`);
    const one = await stack.get(`/datasets/${done.dataset.id}`);
    expect(one.body.query).toContain('"Assignment"');
  }, 180_000);

  it('rejects bad evaluation requests naming the field', async () => {
    const cases: Array<[unknown, string]> = [
      [{ kind: 'window' }, 'experiment'],
      [{ kind: 'sideways', experiment: key }, 'kind'],
      [{ kind: 'window', experiment: key, window: 'seven days' }, 'window'],
      [{ kind: 'policy', experiment: key, policies: [{ kind: 'always', arm: 'purple' }] }, 'policies.0.arm'],
      [{ kind: 'policy', experiment: key, metric: 'revenue' }, 'metric'],
      [{ kind: 'window', experiment: `missing-${uniqueSuffix()}` }, 'experiment'],
      [{ kind: 'export', experiment: key, from: '2026-02-01', to: '2026-01-01' }, 'from'],
      [{ kind: 'window', experiment: key, window: '1h', step: '1s', from: '2026-01-01' }, 'step'],
    ];
    for (const [body, field] of cases) {
      const r = await stack.post('/evaluations', body);
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect(r.body.error.message.startsWith(`${field}:`) || r.body.error.message.startsWith(`${field}[`), `${field} ← ${r.body.error.message}`).toBe(true);
    }
    expect((await stack.get('/evaluations/not-a-uuid')).status).toBe(400);
    expect((await stack.get('/evaluations/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await stack.get('/datasets')).status).toBe(400);

    const arm = join(dataDir, 'policy.json');
    await mkdir(dataDir, { recursive: true });
    await writeFile(arm, JSON.stringify([{ kind: 'uniform' }, { kind: 'always', arm: 'purple' }]));
    const unknownArm = await cli('--experiment', key, '--policy', arm);
    expect(unknownArm.code).toBe(2);
    expect(unknownArm.stderr).toContain("--policy: policies.1.arm: unknown arm 'purple'");
    const bad = await cli('--experiment', key, '--policy', '/nonexistent.json');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--policy');
    expect((await cli('--help')).code).toBe(0);
  }, 180_000);
});
