/** A local HTTP receiver standing in for a user's webhook endpoint: the one boundary we own. */
import { createServer, type Server } from 'node:http';

export interface ReceivedWebhook {
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
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
      received.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
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
