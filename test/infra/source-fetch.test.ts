/**
 * The pull-source fetcher's SSRF guard against real local HTTP servers (fake feeds this test
 * starts on 127.0.0.1 and 127.0.0.2). Loopback is refused unless its network is listed, a
 * rebinding resolver cannot move the connection to an address that was not checked, redirects are
 * re-checked, and the size and time limits hold.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCidr } from '../../domain/context/source-url-policy.js';
import { SourceRefusedError, fetchSourceText, vetSourceUrl, type Resolver, type SourceAccess } from '../../infra/source-fetch.js';

interface Feed {
  server: Server;
  port: number;
  hits: number;
}

function serve(host: string, handler: (req: IncomingMessage, res: ServerResponse) => void, port = 0): Promise<Feed> {
  const feed = { hits: 0 } as Feed;
  feed.server = createServer((req, res) => {
    feed.hits++;
    handler(req, res);
  });
  return new Promise((resolve) =>
    feed.server.listen(port, host, () => {
      feed.port = (feed.server.address() as { port: number }).port;
      resolve(feed);
    }),
  );
}

const json = (body: unknown) => (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

let good: Feed; // 127.0.0.1: the allowed feed
let secret: Feed; // 127.0.0.2: stands for an internal service sources must not reach
let slow: Feed;
let big: Feed;
let redirect: Feed;

const cidr = (t: string) => {
  const c = parseCidr(t);
  if (!c) throw new Error(`not a network: ${t}`);
  return c;
};
const access = (over: Partial<SourceAccess['policy']> = {}, limits: Partial<Omit<SourceAccess, 'policy'>> = {}): SourceAccess => ({
  policy: { schemes: ['http', 'https'], allowedHosts: [], privateNetworks: [cidr('127.0.0.1/32')], allowedPorts: [{ from: 1024, to: 65_535 }], ...over },
  timeoutMs: 2_000,
  maxBytes: 64 * 1024,
  ...limits,
});
/** A resolver that answers from a script, one entry per call (the last one repeats). */
function scripted(...answers: string[][]): Resolver & { calls: number } {
  const r = Object.assign(
    async () => {
      const a = answers[Math.min(r.calls, answers.length - 1)] ?? [];
      r.calls++;
      return a.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    },
    { calls: 0 },
  );
  return r;
}
const refusal = async (p: Promise<unknown>) => {
  const e = await p.then(() => null, (x: unknown) => x);
  expect(e, 'expected a refusal').toBeInstanceOf(SourceRefusedError);
  return (e as Error).message;
};

beforeAll(async () => {
  good = await serve('127.0.0.1', json({ ok: 'good' }));
  secret = await serve('127.0.0.2', json({ ok: 'secret' }));
  slow = await serve('127.0.0.1', (_req, res) => {
    // Headers now, the body never: only the deadline ends this.
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"partial":');
  });
  big = await serve('127.0.0.1', (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    // Chunked, no content-length: the cap must count bytes as they arrive.
    const chunk = 'x'.repeat(16 * 1024);
    for (let i = 0; i < 16; i++) res.write(chunk);
    res.end();
    req.on('error', () => undefined);
  });
  redirect = await serve('127.0.0.1', (req, res) => {
    const to = new URL(req.url ?? '/', 'http://x').searchParams.get('to') ?? '/';
    res.writeHead(302, { location: to });
    res.end();
  });
});
afterAll(() => {
  for (const f of [good, secret, slow, big, redirect]) f?.server.closeAllConnections();
  for (const f of [good, secret, slow, big, redirect]) f?.server.close();
});

describe('fetchSourceText', () => {
  it('refuses loopback by default and fetches it once its network is listed', async () => {
    const url = `http://127.0.0.1:${good.port}/feed`;
    expect(await refusal(fetchSourceText(url, access({ privateNetworks: [] })))).toMatch(/127\.0\.0\.1 is a loopback address/);
    expect(good.hits).toBe(0);
    expect(JSON.parse(await fetchSourceText(url, access()))).toEqual({ ok: 'good' });
    expect(good.hits).toBe(1);
    expect(await refusal(fetchSourceText(`http://127.0.0.2:${secret.port}/`, access()))).toMatch(/127\.0\.0\.2 is a loopback address/);
    expect(secret.hits).toBe(0);
  });

  it('refuses a host that resolves to a forbidden address, even alongside an allowed one', async () => {
    expect(await refusal(fetchSourceText(`http://feed.test:${good.port}/`, access(), scripted(['127.0.0.1', '169.254.169.254'])))).toMatch(
      /feed\.test' resolves to 169\.254\.169\.254 is a link-local address/,
    );
    expect(await refusal(vetSourceUrl(`http://metadata.test/`, access(), scripted(['fd00::1'])))).toMatch(/fd00::1 is a private address/);
  });

  it('connects to the address it checked, not to a second DNS answer (rebinding)', async () => {
    // The first answer is allowed (127.0.0.1), every later one is the forbidden 127.0.0.2, where a
    // twin server listens on the same port: a second lookup at connect time would reach it.
    const twin = await serve('127.0.0.2', json({ ok: 'secret' }), good.port);
    try {
      const resolver = scripted(['127.0.0.1'], ['127.0.0.2']);
      const before = good.hits;
      const body = await fetchSourceText(`http://rebind.test:${good.port}/feed`, access(), resolver);
      expect(JSON.parse(body)).toEqual({ ok: 'good' });
      expect(good.hits).toBe(before + 1);
      expect(twin.hits).toBe(0);
      expect(resolver.calls).toBe(1);
    } finally {
      twin.server.close();
    }
  });

  it('re-checks every redirect hop', async () => {
    const hop = (to: string) => `http://127.0.0.1:${redirect.port}/?to=${encodeURIComponent(to)}`;
    expect(await refusal(fetchSourceText(hop(`http://127.0.0.2:${secret.port}/`), access()))).toMatch(/redirect to http:\/\/127\.0\.0\.2.*loopback/);
    expect(await refusal(fetchSourceText(hop('http://169.254.169.254/latest/meta-data/'), access()))).toMatch(/link-local/);
    expect(await refusal(fetchSourceText(hop('file:///etc/passwd'), access()))).toMatch(/scheme 'file'/);
    expect(secret.hits).toBe(0);
    expect(JSON.parse(await fetchSourceText(hop(`http://127.0.0.1:${good.port}/feed`), access()))).toEqual({ ok: 'good' });
    // A redirect loop ends.
    await expect(fetchSourceText(hop(hop(hop(hop(hop('/'))))), access())).rejects.toThrow(/more than 3 redirects/);
  });

  it('refuses a port that is neither 80/443 nor listed, also behind a redirect', async () => {
    const only = (port: number) => access({ allowedPorts: [{ from: port, to: port }] });
    const before = good.hits;
    expect(await refusal(fetchSourceText(`http://127.0.0.1:${good.port}/feed`, access({ allowedPorts: [] })))).toBe(
      `port ${good.port} is not allowed (80 and 443, plus CONTEXT_SOURCE_ALLOWED_PORTS)`,
    );
    expect(await refusal(vetSourceUrl(`http://127.0.0.1:${good.port}/feed`, only(good.port + 1)))).toMatch(/^port \d+ is not allowed/);
    const hop = `http://127.0.0.1:${redirect.port}/?to=${encodeURIComponent(`http://127.0.0.1:${good.port}/feed`)}`;
    expect(await refusal(fetchSourceText(hop, only(redirect.port)))).toMatch(new RegExp(`redirect to .*: port ${good.port} is not allowed`));
    expect(good.hits).toBe(before);
    expect(JSON.parse(await fetchSourceText(`http://127.0.0.1:${good.port}/feed`, only(good.port)))).toEqual({ ok: 'good' });
    expect(good.hits).toBe(before + 1);
  });

  it('caps the body and the time', async () => {
    await expect(fetchSourceText(`http://127.0.0.1:${big.port}/`, access())).rejects.toThrow(/body larger than 65536 bytes/);
    expect(await fetchSourceText(`http://127.0.0.1:${big.port}/`, access({}, { maxBytes: 1024 * 1024 }))).toHaveLength(256 * 1024);
    const t0 = Date.now();
    await expect(fetchSourceText(`http://127.0.0.1:${slow.port}/`, access({}, { timeoutMs: 500 }))).rejects.toThrow(/within the source timeout/);
    expect(Date.now() - t0).toBeLessThan(3_000);
    const hang: Resolver = () => new Promise(() => undefined);
    await expect(fetchSourceText(`http://never.test/`, access({}, { timeoutMs: 300 }), hang)).rejects.toThrow(/could not be resolved.*timeout/);
  });

  it('refuses what the URL itself says before any connection', async () => {
    const resolver = scripted(['8.8.8.8']);
    expect(await refusal(vetSourceUrl('http://user:pw@feed.test/', access(), resolver))).toMatch(/credentials/);
    expect(await refusal(vetSourceUrl('http://feed.test/', access({ schemes: ['https'] }), resolver))).toMatch(/scheme 'http'/);
    expect(await refusal(vetSourceUrl('https://other.test/', access({ allowedHosts: ['feed.test'] }), resolver))).toMatch(/not in CONTEXT_SOURCE_ALLOWED_HOSTS/);
    expect(resolver.calls).toBe(0);
    await vetSourceUrl('https://feed.test/', access({ allowedHosts: ['feed.test'] }), resolver);
    expect(resolver.calls).toBe(1);
  });
});
