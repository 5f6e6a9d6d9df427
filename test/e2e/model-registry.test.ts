/**
 * Retraining schedulers register model versions; each one after the first starts a
 * champion-vs-challenger experiment whose conclusion promotes or rejects it.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driveTraffic } from '../../sim/traffic.js';
import { uniqueSuffix, waitFor } from '../helpers/services.js';
import { useStack } from '../helpers/stack.js';

const exec = promisify(execFile);
const stack = useStack();
const { config } = stack;
const db = new pg.Client({ connectionString: config.databaseUrl });
beforeAll(async () => {
  await db.connect();
});
afterAll(async () => {
  await db.end();
});
const post = (path: string, body: unknown) => stack.post(path, body);
const models = async (entity: string) =>
  ((await (await fetch(`${stack.api.url}/models?entity=${entity}`)).json()) as any).models as Array<{ version: string; status: string }>;

describe('model registry', () => {
  it('promotes a better challenger and rejects a worse one', async () => {
    const entity = `store-${uniqueSuffix()}`;
    const reg = (version: string, extra: Record<string, unknown> = {}) => post('/models', { entity, modelType: 'ranker', version, uri: `s3://models/ranker/${version}`, ...extra });

    const first = await reg('v1');
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ model: { status: 'champion' }, experiment: null });

    const noConfig = await reg('v2');
    expect(noConfig.status).toBe(400);
    expect(noConfig.body.error.message).toMatch(/^comparison\.config/);
    expect((await models(entity)).map((m) => m.version)).toEqual(['v1']);

    const second = await reg('v2', {
      comparison: { config: { metrics: [{ key: 'click', event: 'purchase', type: 'binary', role: 'primary' }], cycleIntervalSeconds: 3600, policy: { kind: 'fixed' } } },
    });
    expect(second.status, JSON.stringify(second.body)).toBe(201);
    const key = second.body.experiment.key as string;
    expect(second.body.experiment.kind).toBe('model_comparison');
    expect(second.body.experiment.variants.find((v: any) => v.key === 'challenger').payload).toMatchObject({ version: 'v2', uri: 's3://models/ranker/v2' });

    const traffic = await driveTraffic({ apiUrl: stack.api.url, experiment: key, unitPrefix: key, count: 3000, effect: { base: 0.1, rates: { champion: 0.1, challenger: 0.2 } }, seed: 7 });
    // Cycles on the whole traffic: wait until every exposure and purchase is stored, then cycle
    // (a loaded machine's ingestion lags; cycling against a clock raced it).
    const expId = second.body.experiment.id as string;
    await waitFor(async () => {
      const a = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM "Assignment" WHERE "experimentId" = $1', [expId]);
      const e = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "Event" WHERE "experimentId" = $1 AND name = 'purchase'`, [expId]);
      return a.rows[0]?.n === traffic.enrolled && e.rows[0]?.n === traffic.conversions;
    }, { what: 'ingestion', timeoutMs: 120_000 });
    let outcome: string | undefined;
    for (let i = 0; i < 6 && outcome !== 'ship'; i++) {
      const r = await post(`/experiments/${key}/run-cycle`, {});
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      outcome = r.body.decision?.outcome;
    }
    expect(outcome).toBe('ship');
    await waitFor(async () => {
      const m = await models(entity);
      return m.find((x) => x.version === 'v2')?.status === 'champion' && m.find((x) => x.version === 'v1')?.status === 'retired';
    }, { what: 'promotion', timeoutMs: 60_000 });
    const { stdout } = await exec(config.temporalCli, ['workflow', 'list', '--address', config.temporalAddress, '--query', `Entity="${entity}" AND ExperimentKind="model_comparison"`, '-o', 'json']);
    expect(stdout).toContain(`experiment-${key}`);

    // The scheduler sends only the version next time; the last comparison's setup is reused.
    const third = await reg('v3');
    expect(third.status, JSON.stringify(third.body)).toBe(201);
    const key3 = third.body.experiment.key as string;
    expect(third.body.experiment.variants.find((v: any) => v.key === 'champion').payload.version).toBe('v2');
    // One comparison at a time per entity × model type: a version registered meanwhile waits and
    // joins the next comparison (no 409), which starts when the running one ends.
    const busy = await reg('v4');
    expect(busy.status, JSON.stringify(busy.body)).toBe(201);
    expect(busy.body).toMatchObject({ model: { version: 'v4', status: 'candidate', experimentKey: null }, experiment: null, queuedBehind: key3 });
    const busy2 = await reg('v5');
    expect(busy2.body).toMatchObject({ model: { status: 'candidate', experimentKey: null }, queuedBehind: key3 });
    const concluded = await post(`/experiments/${key3}/conclude`, { winner: 'champion', reason: 'offline metrics regressed' });
    expect(concluded.status).toBe(200);
    await waitFor(async () => (await models(entity)).find((x) => x.version === 'v3')?.status === 'rejected', { what: 'rejection', timeoutMs: 60_000 });
    expect((await models(entity)).find((x) => x.version === 'v2')?.status).toBe('champion');
    expect((await reg('v3')).status).toBe(409);
    // v4 and v5 now face champion v2 together, in one comparison.
    const next = await waitFor(async () => {
      const m = (await models(entity)) as Array<{ version: string; status: string; experimentKey: string | null }>;
      const v4 = m.find((x) => x.version === 'v4');
      return v4?.experimentKey && m.find((x) => x.version === 'v5')?.experimentKey === v4.experimentKey ? v4.experimentKey : null;
    }, { what: 'the next comparison', timeoutMs: 60_000 });
    const exp = await stack.get(`/experiments/${next}`);
    expect(exp.body.variants.map((v: any) => [v.key, v.name])).toEqual([['champion', 'v2'], ['challenger-1', 'v4'], ['challenger-2', 'v5']]);
    expect(exp.body.config.metrics[0].event).toBe('purchase');
  }, 400_000);
});
