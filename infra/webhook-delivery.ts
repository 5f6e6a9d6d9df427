/**
 * Delivers one notification to its channel: a signed webhook, a Slack incoming webhook, or e-mail
 * over SMTP. BullMQ retries with backoff when this throws; every attempt is logged in
 * NotificationAttempt and the Notification row records the outcome.
 *
 * Exactly once: a delivered row is never sent again, and every message carries the notification's
 * idempotency key (header `x-expflow-idempotency-key`, e-mail Message-ID), so a redelivery after a
 * worker died between sending and recording is recognisable by the receiver.
 *
 * Webhook signature: `x-expflow-signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`
 * with the secret of EXPFLOW_WEBHOOK_SECRET (README shows how to verify it).
 */
import { createHmac } from 'node:crypto';
import nodemailer from 'nodemailer';
import { emailMessage, slackMessage } from '../domain/notifications/channels.js';
import type { PrismaClient } from './prisma.js';
import type { NotificationJob } from './queues.js';

export interface DeliveryOptions {
  finalAttempt: boolean;
  timeoutMs?: number;
  /** HMAC key for webhook signatures; unsigned when absent. */
  webhookSecret?: string;
  smtpUrl?: string;
  smtpFrom?: string;
  /** Seconds since the epoch (tests pin it); default now. */
  nowSeconds?: () => number;
}

/** The signature header value for a raw body at time t (seconds). */
export function signatureHeader(secret: string, t: number, rawBody: string): string {
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${rawBody}`).digest('hex')}`;
}

interface AttemptResult {
  error: string | null;
  httpStatus: number | null;
}

async function post(url: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<AttemptResult> {
  try {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, signal: AbortSignal.timeout(timeoutMs) });
    return { error: res.ok ? null : `HTTP ${res.status}`, httpStatus: res.status };
  } catch (e) {
    return { error: (e as Error).message, httpStatus: null };
  }
}

async function sendEmail(job: NotificationJob, key: string, opts: DeliveryOptions): Promise<AttemptResult> {
  if (!opts.smtpUrl) return { error: 'SMTP_URL is not configured', httpStatus: null };
  const to = job.url.replace(/^mailto:/, '').split(',').filter(Boolean);
  const u = new URL(opts.smtpUrl);
  const transport = nodemailer.createTransport({
    host: u.hostname,
    port: Number(u.port || (u.protocol === 'smtps:' ? 465 : 587)),
    secure: u.protocol === 'smtps:',
    auth: u.username ? { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) } : undefined,
    connectionTimeout: opts.timeoutMs ?? 10_000,
    socketTimeout: opts.timeoutMs ?? 10_000,
  });
  try {
    const m = emailMessage(job.body);
    await transport.sendMail({ from: opts.smtpFrom ?? 'expflow <expflow@localhost>', to, subject: m.subject, text: m.text, messageId: `<${key}@expflow>`, headers: { 'x-expflow-idempotency-key': key } });
    return { error: null, httpStatus: null };
  } catch (e) {
    return { error: (e as Error).message, httpStatus: null };
  } finally {
    transport.close();
  }
}

export async function deliverNotification(prisma: PrismaClient, job: NotificationJob, opts: DeliveryOptions): Promise<void> {
  const row = await prisma.notification.findUnique({ where: { id: job.notificationId } });
  if (!row || row.status === 'delivered') return;
  const channel = job.channel ?? 'webhook';
  const timeoutMs = opts.timeoutMs ?? 10_000;
  // The attempt is logged before the send, so one cut short by a dying worker stays visible (ok null).
  const attempt = await prisma.notificationAttempt.create({
    data: { notificationId: row.id, attempt: (await prisma.notificationAttempt.count({ where: { notificationId: row.id } })) + 1, channel, target: job.url.slice(0, 500) },
  });
  const started = Date.now();
  let result: AttemptResult;
  switch (channel) {
    case 'webhook': {
      const raw = JSON.stringify(job.body);
      const headers: Record<string, string> = { 'x-expflow-idempotency-key': row.idempotencyKey };
      if (opts.webhookSecret) headers['x-expflow-signature'] = signatureHeader(opts.webhookSecret, (opts.nowSeconds ?? (() => Math.floor(Date.now() / 1000)))(), raw);
      result = await post(job.url, raw, headers, timeoutMs);
      break;
    }
    case 'slack':
      result = await post(job.url, JSON.stringify(slackMessage(job.body)), { 'x-expflow-idempotency-key': row.idempotencyKey }, timeoutMs);
      break;
    case 'email':
      result = await sendEmail(job, row.idempotencyKey, opts);
      break;
    default:
      result = { error: `unknown channel ${String(channel satisfies never)}`, httpStatus: null };
  }
  const { error } = result;
  await prisma.$transaction([
    prisma.notificationAttempt.update({ where: { id: attempt.id }, data: { ok: error === null, httpStatus: result.httpStatus, error, durationMs: Date.now() - started } }),
    prisma.notification.update({
      where: { id: row.id },
      data: {
        attempts: { increment: 1 },
        status: error === null ? 'delivered' : opts.finalAttempt ? 'failed' : 'pending',
        lastError: error,
        deliveredAt: error === null ? new Date() : null,
      },
    }),
  ]);
  if (error !== null) throw new Error(`${channel} ${job.url} failed: ${error}`);
}
