/**
 * The retraining workflow's request step on real Redis and Postgres: a webhook trainer gets one
 * signed request per fingerprint group (a refusal is thrown so Temporal retries it), and a BullMQ
 * trainer gets one job per run × group however often the step is retried.
 */
import { randomUUID, createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, type Activities } from '../../activities/index.js';
import type { TrainingGroup } from '../../domain/training/plan.js';
import { uniqueSuffix } from '../helpers/services.js';
import { useActivities } from '../helpers/activity-deps.js';
import { startWebhookReceiver } from '../helpers/webhook-receiver.js';

const deps = useActivities();
const SECRET = 'trainer-secret';
let acts: Activities;
beforeAll(() => {
  acts = createActivities({ prisma: deps.prisma, pool: deps.pool, redis: deps.redis, queues: deps.queues, webhookSecret: SECRET });
});

const group = (trainer: TrainingGroup['trainer']): TrainingGroup => ({
  fingerprint: 'sha256:abc',
  dataset: { id: 'clicks-30d', transform: { window: '30d' } },
  trainer,
  requests: [
    { requestId: 'ranker/gbdt', modelType: 'ranker', candidate: 'gbdt', params: { depth: 6 } },
    { requestId: 'ranker/linear', modelType: 'ranker', candidate: 'linear', params: {} },
  ],
});

async function newRun(entity: string) {
  const runId = randomUUID();
  await deps.prisma.trainingRun.create({ data: { id: runId, workflowId: `wf-${runId}`, entity, status: 'planned' } });
  return runId;
}

describe('requestTraining', () => {
  const receivers: Array<{ close(): Promise<void> }> = [];
  afterAll(async () => {
    for (const r of receivers) await r.close();
  });

  it('POSTs one signed request per group to a webhook trainer and throws on a refusal (Temporal retries)', async () => {
    const receiver = await startWebhookReceiver({ failFirst: 1 });
    receivers.push(receiver);
    const entity = `wh-${uniqueSuffix()}`;
    const runId = await newRun(entity);
    const input = { runId, workflowId: `wf-${runId}`, entity, index: 0, group: group({ kind: 'webhook', url: receiver.url }) };
    await expect(acts.requestTraining(input)).rejects.toThrow(/HTTP 503/);
    expect(await acts.requestTraining(input)).toEqual({ sent: 'webhook', id: `${runId}-g0` });
    expect(receiver.received).toHaveLength(1);
    const [got] = receiver.received;
    expect(got?.headers['x-expflow-idempotency-key']).toBe(`${runId}-g0`);
    expect(got?.body).toMatchObject({
      type: 'expflow.training_request',
      runId,
      fingerprint: 'sha256:abc',
      dataset: { id: 'clicks-30d', transform: { window: '30d' } },
      models: [{ requestId: 'ranker/gbdt' }, { requestId: 'ranker/linear' }],
      register: { path: '/models', body: { entity, datasetFingerprint: 'sha256:abc', training: { runId } } },
    });
    // The signature verifies as the README's notification snippet does it.
    const [t, v1] = String(got?.headers['x-expflow-signature']).split(',').map((p) => p.split('=')[1]);
    expect(v1).toBe(createHmac('sha256', SECRET).update(`${t}.${JSON.stringify(got?.body)}`).digest('hex'));
    expect((await deps.prisma.trainingRun.findUniqueOrThrow({ where: { id: runId } })).status).toBe('training');
  });

  it('adds one BullMQ job per run × group, however often the step is retried', async () => {
    const queue = `train-${uniqueSuffix()}`;
    const entity = `bq-${uniqueSuffix()}`;
    const runId = await newRun(entity);
    const input = { runId, workflowId: `wf-${runId}`, entity, index: 1, group: group({ kind: 'bullmq', queue }) };
    await acts.requestTraining(input);
    await acts.requestTraining(input);
    const q = deps.queues.trainer(queue);
    expect(await q.count()).toBe(1);
    const job = await q.getJob(`${runId}-g1`);
    expect(job?.data.models.map((m: { requestId: string }) => m.requestId)).toEqual(['ranker/gbdt', 'ranker/linear']);
    await q.obliterate({ force: true });
  });
});
