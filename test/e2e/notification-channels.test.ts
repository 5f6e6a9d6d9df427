/**
 * Notification channels over the exactly-once pipeline (Postgres rows, BullMQ on the real Redis),
 * delivered to sinks the test owns: an HTTP receiver for the webhook and the Slack incoming webhook,
 * and an SMTP server (smtp-server) for e-mail.
 *  - routing by event type: each event reaches exactly the channels that want it;
 *  - webhook signatures verified with the README's snippet; a tampered body fails it;
 *  - every attempt logged in NotificationAttempt, failures included;
 *  - a worker killed mid-delivery: the next worker redelivers with the same idempotency key, the
 *    receiver processes it once, and both attempts are logged.
 */
import { Queue, Worker } from 'bullmq';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueNotification, routeFor } from '../../activities/notify.js';
import type { ActivityDeps } from '../../activities/deps.js';
import { experimentConfigSchema } from '../../domain/experiment/config.js';
import { createPrisma } from '../../infra/prisma.js';
import { createRedis } from '../../infra/redis.js';
import type { NotificationJob, Queues } from '../../infra/queues.js';
import { deliverNotification } from '../../infra/webhook-delivery.js';
import { testConfig, uniqueSuffix, waitFor } from '../helpers/services.js';
import { verifyExpflowSignature } from '../helpers/webhook-receiver.js';

const SECRET = 'whsec-test-0123456789abcdef';

interface Hit {
  path: string;
  headers: IncomingMessage['headers'];
  raw: string;
}

/** The user's endpoints: records every request; `/fail-once` refuses each key's first try; `/hold` never answers a key's first try. */
function startReceiver() {
  const hits: Hit[] = [];
  const processed = new Set<string>();
  const seen = new Map<string, number>();
  const held: ServerResponse[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '';
      const key = String(req.headers['x-expflow-idempotency-key'] ?? '');
      hits.push({ path, headers: req.headers, raw: Buffer.concat(chunks).toString('utf8') });
      const n = (seen.get(`${path}:${key}`) ?? 0) + 1;
      seen.set(`${path}:${key}`, n);
      if (path === '/fail-once' && n === 1) return void res.writeHead(500).end();
      if (path === '/hold' && n === 1) return void held.push(res);
      // What the README asks of a receiver: process each idempotency key once.
      processed.add(`${path}:${key}`);
      res.writeHead(204).end();
    });
  });
  return {
    hits,
    processed,
    listen: () => new Promise<string>((r) => server.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(server.address() as { port: number }).port}`))),
    close: () => new Promise<void>((r) => {
      for (const h of held) h.destroy();
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

interface Mail {
  from: string;
  to: string[];
  raw: string;
}

function startSmtpSink() {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, done) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') });
        done();
      });
    },
  });
  return {
    mails,
    listen: () => new Promise<number>((r) => server.listen(0, '127.0.0.1', () => r((server.server.address() as { port: number }).port))),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const config = testConfig();
const prisma = createPrisma(config.databaseUrl);
const bull = createRedis(config.redisUrl, { forBullmq: true });
const receiver = startReceiver();
const smtp = startSmtpSink();
let base = '';
let smtpPort = 0;

beforeAll(async () => {
  base = await receiver.listen();
  smtpPort = await smtp.listen();
});
afterAll(async () => {
  await receiver.close();
  await smtp.close();
  await prisma.$disconnect();
  bull.disconnect();
});

/** A queue of the test's own (other suites' workers share Redis) and the deps enqueueNotification needs. */
function ownQueue() {
  const name = `test-notifications-${uniqueSuffix()}`;
  const queue = new Queue<NotificationJob>(name, { connection: bull, defaultJobOptions: { attempts: 4, backoff: { type: 'fixed', delay: 200 }, removeOnComplete: false, removeOnFail: false } });
  const deps = { prisma, queues: { notifications: queue } as unknown as Queues } as ActivityDeps;
  return { name, queue, deps };
}

const attemptsOf = (idempotencyKey: string) =>
  prisma.notificationAttempt.findMany({ where: { notification: { idempotencyKey } }, orderBy: { attempt: 'asc' }, select: { attempt: true, ok: true, channel: true, error: true } });

describe('notification channels', () => {
  it('routes each event to the channels that want it: signed webhook, Slack, e-mail; every attempt logged', async () => {
    const { queue, deps, name } = ownQueue();
    const key = `notify-${uniqueSuffix()}`;
    const cfg = experimentConfigSchema.parse({
      metrics: [{ key: 'purchase', event: 'purchase', type: 'binary', role: 'primary' }],
      notifications: {
        channels: [
          { kind: 'webhook', url: `${base}/hook`, events: ['decision', 'arm_stopped'] },
          { kind: 'slack', url: `${base}/fail-once`, events: ['decision', 'srm_alarm'] },
          { kind: 'email', to: ['owner@example.com', 'ops@example.com'], events: ['decision'] },
        ],
      },
    });
    const events = [
      { event: 'decision' as const, key: '', body: { type: 'expflow.decision', experiment: key, cycle: 4, outcome: 'ship', winner: 'green', rationale: 'green beats control on purchase' } },
      { event: 'arm_stopped' as const, key: 'arm-blue', body: { type: 'expflow.arm_stopped', experiment: key, cycle: 3, arm: 'blue', reason: 'blue breaches guardrail latency' } },
      { event: 'srm_alarm' as const, key: 'srm', body: { type: 'expflow.srm_alarm', experiment: key, cycle: 2, reason: 'sample-ratio mismatch (p=1.0e-8 < 0.001)' } },
    ];
    const deliveries = routeFor(cfg, events, `decision-${key}`);
    expect(deliveries.map((x) => `${x.body.type} → ${x.channel}`)).toEqual([
      'expflow.decision → webhook',
      'expflow.decision → slack',
      'expflow.decision → email',
      'expflow.arm_stopped → webhook',
      'expflow.srm_alarm → slack',
    ]);
    for (const x of deliveries) await enqueueNotification(deps, { ...x, decisionId: null, experimentKey: key });
    // Enqueued twice (a retried activity): still one row and one job per key.
    for (const x of deliveries) await enqueueNotification(deps, { ...x, decisionId: null, experimentKey: key });
    expect(await prisma.notification.count({ where: { experimentKey: key } })).toBe(5);

    const worker = new Worker<NotificationJob>(name, async (job) => deliverNotification(prisma, job.data, { finalAttempt: job.attemptsMade + 1 >= 4, webhookSecret: SECRET, smtpUrl: `smtp://127.0.0.1:${smtpPort}`, smtpFrom: 'expflow <expflow@test.local>' }), {
      connection: createRedis(config.redisUrl, { forBullmq: true }),
    });
    try {
      await waitFor(async () => (await prisma.notification.count({ where: { experimentKey: key, status: 'delivered' } })) === 5, { what: 'all five delivered' });
    } finally {
      await worker.close();
      await queue.close();
    }

    const hooks = receiver.hits.filter((h) => h.path === '/hook' && JSON.parse(h.raw).experiment === key);
    expect(hooks.map((h) => JSON.parse(h.raw).type).sort()).toEqual(['expflow.arm_stopped', 'expflow.decision']);
    for (const h of hooks) {
      const sig = String(h.headers['x-expflow-signature']);
      expect(sig).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
      expect(verifyExpflowSignature(SECRET, sig, h.raw)).toBe(true);
      expect(verifyExpflowSignature(SECRET, sig, h.raw.replace('"cycle":', '"cycle": '))).toBe(false);
      expect(verifyExpflowSignature('another-secret-0123456789', sig, h.raw)).toBe(false);
    }

    const slack = receiver.hits.filter((h) => h.path === '/fail-once' && h.raw.includes(key));
    // Each Slack message failed once (HTTP 500) and was retried: four requests, two messages.
    expect(slack).toHaveLength(4);
    const texts = [...new Set(slack.map((h) => (JSON.parse(h.raw) as { text: string }).text))].sort();
    expect(texts).toEqual([
      `[expflow] ${key}: decision - ship\ngreen beats control on purchase`,
      `[expflow] ${key}: srm alarm\nsample-ratio mismatch (p=1.0e-8 < 0.001)`,
    ]);
    expect((JSON.parse(slack[0]!.raw) as { blocks: Array<{ type: string }> }).blocks.map((b) => b.type)).toEqual(['section', 'context']);

    const mail = smtp.mails.find((m) => m.raw.includes(key));
    expect(mail?.to).toEqual(['owner@example.com', 'ops@example.com']);
    expect(mail?.from).toBe('expflow@test.local');
    expect(mail?.raw).toMatch(new RegExp(`Subject: \\[expflow\\] ${key}: decision - ship`));
    expect(mail?.raw).toMatch(new RegExp(`Message-ID: <decision-${key}-email-2@expflow>`, 'i'));

    expect(await attemptsOf(`decision-${key}-webhook`)).toEqual([{ attempt: 1, ok: true, channel: 'webhook', error: null }]);
    expect(await attemptsOf(`decision-${key}-slack-1`)).toEqual([
      { attempt: 1, ok: false, channel: 'slack', error: 'HTTP 500' },
      { attempt: 2, ok: true, channel: 'slack', error: null },
    ]);
    expect(await attemptsOf(`decision-${key}-email-2`)).toEqual([{ attempt: 1, ok: true, channel: 'email', error: null }]);
  });

  it('delivers exactly once when the worker is killed mid-delivery', { timeout: 90_000 }, async () => {
    const { queue, deps, name } = ownQueue();
    const key = `kill-${uniqueSuffix()}`;
    const idempotencyKey = `decision-${key}-webhook`;
    const spawnWorker = async (): Promise<ChildProcess> => {
      const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../helpers/notification-worker.ts', import.meta.url))], {
        env: { ...process.env, DATABASE_URL: config.databaseUrl, REDIS_URL: config.redisUrl, QUEUE: name, EXPFLOW_WEBHOOK_SECRET: SECRET },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((resolve, reject) => {
        child.stdout?.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
        child.on('exit', (code) => reject(new Error(`worker exited with ${code}`)));
      });
      return child;
    };

    const first = await spawnWorker();
    await enqueueNotification(deps, { channel: 'webhook', url: `${base}/hold`, idempotencyKey, body: { type: 'expflow.decision', experiment: key, outcome: 'ship' }, decisionId: null, experimentKey: key });
    // The receiver holds the first request open: the worker is mid-delivery. Kill it there.
    await waitFor(async () => receiver.hits.some((h) => h.path === '/hold' && h.headers['x-expflow-idempotency-key'] === idempotencyKey), { what: 'first delivery in flight' });
    const exited = new Promise((r) => first.once('exit', r));
    first.kill('SIGKILL');
    await exited;
    expect(await attemptsOf(idempotencyKey)).toEqual([{ attempt: 1, ok: null, channel: 'webhook', error: null }]);

    const second = await spawnWorker();
    try {
      const row = await waitFor(async () => {
        const n = await prisma.notification.findUnique({ where: { idempotencyKey } });
        return n?.status === 'delivered' ? n : null;
      }, { what: 'redelivery by the next worker', timeoutMs: 60_000 });
      expect(row.attempts).toBe(1);
      // The job completes (no further redelivery can come).
      await waitFor(async () => (await (await queue.getJob(idempotencyKey))?.getState()) === 'completed', { what: 'job completed' });
    } finally {
      second.kill('SIGTERM');
      await queue.close();
    }
    const requests = receiver.hits.filter((h) => h.path === '/hold' && h.headers['x-expflow-idempotency-key'] === idempotencyKey);
    expect(requests).toHaveLength(2);
    for (const r of requests) expect(verifyExpflowSignature(SECRET, String(r.headers['x-expflow-signature']), r.raw)).toBe(true);
    expect([...receiver.processed].filter((k) => k === `/hold:${idempotencyKey}`)).toHaveLength(1);
    expect(await attemptsOf(idempotencyKey)).toEqual([
      { attempt: 1, ok: null, channel: 'webhook', error: null },
      { attempt: 2, ok: true, channel: 'webhook', error: null },
    ]);
  });
});
