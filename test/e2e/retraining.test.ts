/**
 * The training platform end to end on the real stack: a training policy's Temporal Schedule fires,
 * the retraining workflow asks a fake trainer (a BullMQ worker this test owns) to train two
 * candidates that share a dataset fingerprint, the trainer registers two challengers, and the
 * N-way comparison ships one: one promotion, two retirements, each with its lineage.
 */
import { Client, Connection, ScheduleNotFoundError } from '@temporalio/client';
import { Worker as QueueWorker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../infra/redis.js';
import { driveTraffic } from '../../sim/traffic.js';
import { uniqueSuffix, waitFor } from '../helpers/services.js';
import { useStack } from '../helpers/stack.js';
import { retrainingStatusQuery } from '../../workflows/retraining.js';

const stack = useStack();
const { config } = stack;
let temporal: Client;

beforeAll(async () => {
  temporal = new Client({ connection: await Connection.connect({ address: config.temporalAddress }), namespace: config.temporalNamespace });
});
afterAll(async () => {
  await temporal?.connection.close();
});

async function call(method: string, path: string, body?: unknown) {
  const res = await fetch(`${stack.api.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

const comparisonConfig = {
  metrics: [{ key: 'click', event: 'purchase', type: 'binary', role: 'primary' }],
  cycleIntervalSeconds: 3600,
  policy: { kind: 'thompson' },
};

interface TrainerJob {
  runId: string;
  entity: string;
  fingerprint: string;
  dataset: { id: string; transform: Record<string, unknown> };
  models: Array<{ requestId: string; modelType: string; candidate: string; params: Record<string, unknown> }>;
  register: { body: Record<string, unknown> };
}

/** The user's trainer: transforms each job's dataset once, trains each model, registers each version. */
function fakeTrainer(queue: string) {
  const jobs: TrainerJob[] = [];
  const transforms: string[] = [];
  const trainings: string[] = [];
  const worker = new QueueWorker<TrainerJob>(
    queue,
    async (job) => {
      jobs.push(job.data);
      transforms.push(job.data.fingerprint);
      for (const m of job.data.models) {
        trainings.push(m.requestId);
        const version = `${m.candidate}-${job.data.runId.slice(0, 8)}`;
        const res = await call('POST', '/models', {
          ...job.data.register.body,
          modelType: m.modelType,
          version,
          uri: `s3://models/${m.modelType}/${version}`,
          params: m.params,
          metrics: { auc: m.candidate === 'linear' ? 0.81 : 0.78 },
          trainedAt: new Date().toISOString(),
          training: { runId: job.data.runId, requestId: m.requestId },
        });
        if (res.status !== 201) throw new Error(`registration refused: ${JSON.stringify(res.body)}`);
      }
    },
    { connection: createRedis(config.redisUrl, { forBullmq: true }) },
  );
  return { jobs, transforms, trainings, close: () => worker.close() };
}

describe('training platform', () => {
  it('a schedule retrains two candidates on one transformation, and the N-way comparison promotes one and retires the rest', async () => {
    const entity = `shop-${uniqueSuffix()}`;
    const queue = `train-${uniqueSuffix()}`;
    const trainer = fakeTrainer(queue);
    try {
      const lastWeek = new Date(Date.now() - 7 * 86_400_000).toISOString();
      const v1 = await call('POST', '/models', { entity, modelType: 'ranker', version: 'v1', uri: 's3://models/ranker/v1', trainedAt: lastWeek, datasetId: 'clicks-30d' });
      expect(v1.status, JSON.stringify(v1.body)).toBe(201);
      expect(v1.body.model.status).toBe('champion');

      const put = await call('PUT', `/training-policies/${entity}/ranker`, {
        frequency: { every: '1d' },
        trainer: { kind: 'bullmq', queue },
        dataset: { id: 'clicks-30d', transform: { window: '30d', dedupe: true } },
        candidates: [
          { name: 'gbdt', params: { depth: 6 } },
          { name: 'linear', params: { l2: 0.1 } },
        ],
        comparison: comparisonConfig,
        waitForVersionsSeconds: 120,
      });
      expect(put.status, JSON.stringify(put.body)).toBe(200);
      const { scheduleId } = put.body;
      // The schedule is Temporal's own (the UI's Schedules page lists it), due a day from now.
      const described = await temporal.schedule.getHandle(scheduleId).describe();
      expect(described.state.paused).toBe(false);
      expect(described.action.type).toBe('startWorkflow');
      expect((described.action as { workflowType: string }).workflowType).toBe('retrainingWorkflow');
      const nextDue = Date.parse(put.body.schedule.nextDue);
      // Temporal aligns intervals to the epoch: the next firing is within the coming day.
      expect(nextDue).toBeGreaterThan(Date.now());
      expect(nextDue).toBeLessThanOrEqual(Date.now() + 86_400_000);

      // The listing says when each model was last trained and when it is next due.
      const before = await call('GET', `/entities/${entity}/models`);
      expect(before.body.models).toEqual([expect.objectContaining({ modelType: 'ranker', champion: 'v1', lastTrainedAt: lastWeek, nextDueAt: put.body.schedule.nextDue })]);

      expect((await call('POST', `/training-policies/${entity}/ranker/trigger`, { reason: 'e2e' })).status).toBe(200);

      // One transformation for the shared fingerprint, two trainings, two challengers in one comparison.
      const compared = await waitFor(
        async () => {
          const m = (await call('GET', `/entities/${entity}/models`)).body.models[0];
          const challengers = m.versions.filter((v: any) => v.status === 'candidate' && v.comparison);
          return challengers.length === 2 ? challengers : null;
        },
        { what: 'two challengers in a comparison', timeoutMs: 60_000, intervalMs: 300 },
      );
      expect(trainer.transforms).toHaveLength(1);
      expect(trainer.trainings.sort()).toEqual(['ranker/gbdt', 'ranker/linear']);
      expect(trainer.jobs[0]?.dataset).toEqual({ id: 'clicks-30d', transform: { window: '30d', dedupe: true } });
      const key = compared[0].comparison as string;
      expect(compared.every((c: any) => c.comparison === key && c.datasetFingerprint === trainer.transforms[0] && c.trainingRunId)).toBe(true);

      // The run waits on its comparison, with both versions in.
      const live = await waitFor(async () => {
        const r = (await call('GET', `/training-runs?entity=${entity}`)).body.runs[0];
        if (!r) return null;
        const st = await temporal.workflow.getHandle(r.workflowId).query(retrainingStatusQuery);
        return st.stage === 'comparing' && st.comparisons.length ? st : null;
      }, { what: 'the run waits on its comparison' });
      expect(live.comparisons).toEqual([key]);
      expect(live.arrived.map((a) => a.requestId).sort()).toEqual(['ranker/gbdt', 'ranker/linear']);

      const exp = await call('GET', `/experiments/${key}`);
      expect(exp.body.kind).toBe('model_comparison');
      const arms = exp.body.variants.map((v: any) => [v.key, v.name]);
      const linear = compared.find((c: any) => c.version.startsWith('linear')).version as string;
      const gbdt = compared.find((c: any) => c.version.startsWith('gbdt')).version as string;
      expect(arms).toEqual(expect.arrayContaining([['champion', 'v1'], [expect.stringMatching(/^challenger-[12]$/), linear], [expect.stringMatching(/^challenger-[12]$/), gbdt]]));
      expect(exp.body.config.policy.kind).toBe('thompson');
      const linearArm = arms.find((a: string[]) => a[1] === linear)[0] as string;
      const gbdtArm = arms.find((a: string[]) => a[1] === gbdt)[0] as string;

      // Traffic where the linear model converts twice as often: the comparison ships it.
      let batch = 0;
      await waitFor(
        async () => {
          await driveTraffic({ apiUrl: stack.api.url, experiment: key, unitPrefix: `${key}-${batch}`, count: 1500, effect: { base: 0.1, rates: { champion: 0.1, [gbdtArm]: 0.1, [linearArm]: 0.22 } }, seed: 11 + batch });
          batch++;
          const r = await call('POST', `/experiments/${key}/run-cycle`, {});
          return r.body.decision?.outcome === 'ship' ? r.body.decision : null;
        },
        { what: 'the comparison ships', timeoutMs: 240_000, intervalMs: 10 },
      );

      const settled = await waitFor(
        async () => {
          const m = (await call('GET', `/entities/${entity}/models`)).body.models[0];
          return m.champion === linear ? m : null;
        },
        { what: 'promotion', timeoutMs: 30_000 },
      );
      const byVersion = Object.fromEntries(settled.versions.map((v: any) => [v.version, v]));
      expect(byVersion[linear]).toMatchObject({ status: 'champion', settledBy: key, comparison: key, params: { l2: 0.1 }, metrics: { auc: 0.81 } });
      expect(byVersion.v1).toMatchObject({ status: 'retired', settledBy: key });
      expect(byVersion[gbdt]).toMatchObject({ status: 'retired', settledBy: key, comparison: key });
      expect(settled.lastTrainedAt).toBe(byVersion[linear].trainedAt > byVersion[gbdt].trainedAt ? byVersion[linear].trainedAt : byVersion[gbdt].trainedAt);

      // The run learns that its comparison ended and records it.
      const run = await waitFor(
        async () => {
          const runs = (await call('GET', `/training-runs?entity=${entity}`)).body.runs;
          return runs[0]?.status === 'completed' ? runs[0] : null;
        },
        { what: 'the run completes', timeoutMs: 30_000 },
      );
      expect(run.experiments).toEqual([key]);
      expect(run.plan.groups).toHaveLength(1);
      expect(run.plan.groups[0].requests.map((r: any) => r.requestId)).toEqual(['ranker/gbdt', 'ranker/linear']);
      const handle = temporal.workflow.getHandle(run.workflowId);
      const result = await handle.result();
      expect(result.versions.map((v: any) => v.status).sort()).toEqual(['champion', 'retired']);
      expect(run.workflowId.startsWith(scheduleId)).toBe(true);
    } finally {
      await trainer.close();
      await call('DELETE', `/training-policies/${entity}/ranker`);
    }
  }, 360_000);

  it('validates policies naming the field, and keeps the schedule in step: update, pause, resume, delete', async () => {
    const entity = `cat-${uniqueSuffix()}`;
    const path = `/training-policies/${entity}/classifier`;
    const valid = { frequency: { every: '6h' }, trainer: { kind: 'webhook', url: 'http://127.0.0.1:9/train' }, dataset: { id: 'orders' } };

    const cases: Array<[unknown, RegExp]> = [
      [{ ...valid, frequency: { every: '5s' } }, /^frequency\.every/],
      [{ ...valid, frequency: { every: '6h', cron: '0 3 * * *' } }, /^frequency/],
      [{ ...valid, frequency: { cron: 'sometimes' } }, /^frequency\.cron/],
      [{ ...valid, trainer: { kind: 'ftp' } }, /^trainer/],
      [{ ...valid, trainer: { kind: 'webhook', url: 'file:///etc/passwd' } }, /^trainer\.url/],
      [{ ...valid, candidates: [{ name: 'a' }, { name: 'a' }] }, /^candidates/],
      [{ ...valid, waitForVersionsSeconds: 1 }, /^waitForVersionsSeconds/],
      [{ ...valid, comparison: { metrics: [] } }, /^comparison\.metrics/],
      // Five fields, but minute 61 is out of range: Temporal refuses it, and no row is left behind.
      [{ ...valid, frequency: { cron: '61 * * * *' } }, /^frequency\.cron/],
    ];
    for (const [body, message] of cases) {
      const res = await call('PUT', path, body);
      expect(res.status, `${JSON.stringify(body)} → ${JSON.stringify(res.body)}`).toBe(400);
      expect(res.body.error.message, JSON.stringify(body)).toMatch(message);
    }
    expect((await call('GET', path)).status).toBe(404);
    expect((await call('PUT', `/training-policies/${encodeURIComponent('bad entity')}/x`, valid)).body.error.message).toMatch(/^entity/);

    const created = await call('PUT', path, valid);
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const handle = temporal.schedule.getHandle(created.body.scheduleId);
    expect((await handle.describe()).spec.intervals?.[0]?.every).toBe(6 * 3_600_000);

    const updated = await call('PUT', path, { ...valid, frequency: { cron: '0 3 * * *' } });
    expect(updated.status).toBe(200);
    const spec = (await handle.describe()).spec;
    expect(spec.intervals ?? []).toHaveLength(0);
    expect(JSON.stringify(spec)).toContain('"hour":[{"start":3');
    expect(new Date(updated.body.schedule.nextDue).getUTCHours()).toBe(3);

    const paused = await call('POST', `${path}/pause`, { reason: 'data freeze' });
    expect(paused.body.schedule).toMatchObject({ paused: true, nextDue: null });
    expect((await handle.describe()).state).toMatchObject({ paused: true, note: expect.stringContaining('data freeze') });
    expect((await call('GET', `/entities/${entity}/models`)).body.models).toEqual([expect.objectContaining({ modelType: 'classifier', paused: true, nextDueAt: null, lastTrainedAt: null })]);
    expect((await call('POST', `${path}/resume`, {})).body.schedule.paused).toBe(false);
    expect((await handle.describe()).state.paused).toBe(false);

    expect((await call('DELETE', path)).status).toBe(200);
    await expect(handle.describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
    expect((await call('GET', path)).status).toBe(404);
    expect((await call('POST', `${path}/trigger`, {})).status).toBe(404);
  }, 60_000);
});
