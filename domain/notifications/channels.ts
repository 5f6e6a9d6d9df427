/**
 * Notification channels and per-experiment routing. An experiment lists its channels, each with the
 * event types it wants (all when omitted); every event goes to every channel that wants it, as one
 * Notification (and one BullMQ job) per event × channel, keyed for exactly-once delivery.
 * Formatting for Slack and e-mail is a function of the event body alone, so any notification type —
 * including ones other parts of expflow add — can go to any channel.
 */
import { z } from 'zod';

const NOTIFICATION_EVENTS = ['decision', 'segment_conclusion', 'arm_stopped', 'srm_alarm', 'experiment_ended'] as const;
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];

const events = z.array(z.enum(NOTIFICATION_EVENTS)).min(1).optional();

const channelSchema = z.discriminatedUnion('kind', [
  /** POST of the JSON body, signed with HMAC-SHA256 (header x-expflow-signature). */
  z.object({ kind: z.literal('webhook'), url: z.string().url(), events }),
  /** Slack-compatible incoming webhook ({ text, blocks }). */
  z.object({ kind: z.literal('slack'), url: z.string().url(), events }),
  /** E-mail over the SMTP server of SMTP_URL. */
  z.object({ kind: z.literal('email'), to: z.array(z.string().email()).min(1).max(20), events }),
]);
export type ChannelConfig = z.infer<typeof channelSchema>;
export type ChannelKind = ChannelConfig['kind'];

export const notificationsSchema = z.object({ channels: z.array(channelSchema).max(10).default([]) });

/** One event to announce: its routing type, a stable key within its decision, and the JSON body. */
export interface OutgoingEvent {
  event: NotificationEvent;
  key: string;
  body: Record<string, unknown>;
}

export interface Delivery {
  channel: ChannelKind;
  /** Webhook/Slack URL, or `mailto:a@x,b@y` for e-mail. */
  url: string;
  idempotencyKey: string;
  body: Record<string, unknown>;
}

/** The deliveries of `events` to the channels that want them (the legacy webhookUrl wants all). */
export function routeEvents(input: { channels: readonly ChannelConfig[]; legacyWebhookUrl?: string; events: readonly OutgoingEvent[]; keyPrefix: string }): Delivery[] {
  const channels: ChannelConfig[] = [...input.channels];
  if (input.legacyWebhookUrl && !channels.some((c) => c.kind === 'webhook' && c.url === input.legacyWebhookUrl)) channels.unshift({ kind: 'webhook', url: input.legacyWebhookUrl });
  const out: Delivery[] = [];
  for (const e of input.events) {
    channels.forEach((c, i) => {
      if (c.events && !c.events.includes(e.event)) return;
      const url = c.kind === 'email' ? `mailto:${c.to.join(',')}` : c.url;
      // The first webhook keeps the key format of the single-webhook pipeline (`<prefix>-webhook`).
      const suffix = c.kind === 'webhook' && i === 0 ? 'webhook' : `${c.kind}-${i}`;
      out.push({ channel: c.kind, url, idempotencyKey: `${input.keyPrefix}${e.key ? `-${e.key}` : ''}-${suffix}`, body: e.body });
    });
  }
  return out;
}

function title(body: Record<string, unknown>): string {
  const type = String(body.type ?? 'expflow.notification').replace(/^expflow\./, '');
  const exp = body.experiment ? ` ${String(body.experiment)}` : '';
  const what = [body.outcome, body.phase, body.arm ? `arm ${String(body.arm)}` : null].filter((x) => x !== undefined && x !== null && x !== '').join(' ');
  return `[expflow]${exp}: ${type.replace(/_/g, ' ')}${what ? ` - ${what}` : ''}`;
}

function detail(body: Record<string, unknown>): string {
  const text = body.rationale ?? body.reason ?? body.message;
  return typeof text === 'string' ? text : '';
}

/** Slack incoming-webhook JSON for any event body. */
export function slackMessage(body: Record<string, unknown>): { text: string; blocks: unknown[] } {
  const head = title(body);
  const more = detail(body);
  return {
    text: more ? `${head}\n${more}` : head,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*${head}*${more ? `\n${more}` : ''}` } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `\`${String(body.type ?? 'expflow.notification')}\`${body.cycle !== undefined ? ` · cycle ${String(body.cycle)}` : ''}` }] },
    ],
  };
}

/** Subject and plain-text body of the e-mail for any event body (the JSON follows the summary). */
export function emailMessage(body: Record<string, unknown>): { subject: string; text: string } {
  const more = detail(body);
  return { subject: title(body), text: `${more ? `${more}\n\n` : ''}${JSON.stringify(body, null, 2)}\n` };
}
