/** A local HTTP receiver standing in for a user's webhook endpoint: the one boundary we own. */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';

export interface ReceivedWebhook {
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
  /** The body as sent (what the signature covers). */
  raw: string;
}

/** README "Verifying webhook signatures", verbatim. */
export function verifyExpflowSignature(secret: string, header: string, rawBody: string, toleranceSeconds = 300): boolean {
  const parts = Object.fromEntries(header.split(',').map((kv) => kv.split('=') as [string, string]));
  const t = Number(parts.t);
  if (!Number.isFinite(t) || Math.abs(Date.now() / 1000 - t) > toleranceSeconds) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${rawBody}`).digest();
  const given = Buffer.from(parts.v1 ?? '', 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** `failFirst`: how many deliveries of each idempotency key are refused (503) before one is accepted. */
export async function startWebhookReceiver(opts: { failFirst?: number } = {}): Promise<{ url: string; received: ReceivedWebhook[]; attempts: () => number; close(): Promise<void> }> {
  const received: ReceivedWebhook[] = [];
  let attempts = 0;
  const perKey = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      attempts++;
      const key = String(req.headers['x-expflow-idempotency-key'] ?? '');
      perKey.set(key, (perKey.get(key) ?? 0) + 1);
      if (perKey.get(key)! <= (opts.failFirst ?? 0)) {
        res.writeHead(503).end();
        return;
      }
      const raw = Buffer.concat(chunks).toString('utf8');
      received.push({ headers: req.headers, body: JSON.parse(raw), raw });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${addr.port}/hook`,
    received,
    attempts: () => attempts,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
