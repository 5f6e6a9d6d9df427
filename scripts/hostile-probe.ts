/**
 * Hostile-input probe of a running API (an audit tool, not a test): for every route in api/openapi.ts
 * ROUTES it sends malformed JSON, wrong types, huge and non-finite numbers, NUL bytes, lone
 * surrogates, prototype-pollution keys, duplicate keys, unknown fields, path traversal and SQL-ish
 * ids, arrays where objects are expected, and the same values at every leaf of a valid body. It
 * prints every 5xx / dropped connection, every 4xx whose error does not name the mutated field, and
 * every 2xx to a clearly invalid value; the last line is JSON.
 *   PROBE_URL=http://127.0.0.1:3000 PROBE_TOKEN=... npx tsx scripts/hostile-probe.ts [route-filter]
 */
import { ROUTES } from '../api/openapi.js';

const BASE = process.env.PROBE_URL ?? 'http://127.0.0.1:3000';
const TOKEN = process.env.PROBE_TOKEN;
const filter = process.argv[2];
const suffix = Date.now().toString(36);
const EXP = `probe-${suffix}`;

/** A valid body per POST route; every leaf gets mutated. */
const templates: Record<string, unknown> = {
  '/assign': { experiment: EXP, unitId: 'u1', context: { country: 'DE', age: 30 } },
  '/events': { events: [{ eventId: `e-${suffix}`, unitId: 'u1', name: 'purchase', experiment: EXP, value: 1, timestamp: '2026-11-30T00:00:00Z' }] },
  '/experiments': {
    key: `${EXP}-b`,
    name: 'probe',
    kind: 'ab',
    owner: 'audit',
    variants: [
      { key: 'control', weight: 0.5, control: true },
      { key: 'treatment', weight: 0.5 },
    ],
    config: { metrics: [{ key: 'purchase', event: 'purchase', type: 'binary', role: 'primary' }] },
  },
  '/experiments/:key/pause': { actor: 'audit', reason: 'probe' },
  '/experiments/:key/resume': { actor: 'audit', reason: 'probe' },
  '/experiments/:key/stop': { actor: 'audit', reason: 'probe' },
  '/experiments/:key/external-context': { kind: 'outage', severity: 0.5 },
  '/experiments/:key/allocation': { weights: { control: 0.5, treatment: 0.5 }, actor: 'audit', reason: 'probe' },
  '/experiments/:key/run-cycle': { actor: 'audit', reason: 'probe' },
  '/experiments/:key/conclude': { winner: 'treatment', actor: 'audit', reason: 'probe' },
  '/models': { entity: 'probe-entity', modelType: 'ranker', version: `v-${suffix}`, uri: 's3://m/v1', metadata: { a: 1 } },
  '/experiments/:key/arms/reenable': { arm: 'treatment', actor: 'audit', reason: 'probe' },
  '/experiments/:key/srm/acknowledge': { actor: 'audit', reason: 'probe' },
  '/models/promote': { entity: 'probe-entity', modelType: 'ranker', version: `v-${suffix}` },
  '/predictions': { entity: 'probe-entity', modelType: 'ranker', version: `v-${suffix}`, predictions: [{ unitId: 'u1', score: 0.5, action: 'a' }] },
  '/evaluations': { kind: 'window', experiment: EXP, window: '1h', step: '1h' },
  '/dead-letters/replay': { ids: ['1', '2'] },
  '/admin/keys': { name: `probe-${suffix}`, role: 'read', experiments: [EXP], rateLimitPerMinute: 100 },
  '/context': { signals: [{ source: 'weather', name: 'temp', value: 20, timestamp: '2026-11-30T00:00:00Z' }] },
  '/context/sources': { key: `src-${suffix}`, url: 'http://127.0.0.1:9/feed', intervalSeconds: 60, mapping: { items: '$.items', fields: { temp: '$.t' } } },
};

/** Values put at every leaf (JSON text, so non-JSON numbers like 1e309 reach the parser as written). */
const hostileValues: [string, string][] = [
  ['null', 'null'],
  ['true', 'true'],
  ['zero', '0'],
  ['negative', '-1'],
  ['negative-zero', '-0'],
  ['huge', '1e308'],
  ['overflow-1e309', '1e309'],
  ['unsafe-int', '9007199254740993'],
  ['fraction', '0.5'],
  ['"NaN"', '"NaN"'],
  ['"Infinity"', '"Infinity"'],
  ['empty-string', '""'],
  ['long-string', JSON.stringify('x'.repeat(100_000))],
  ['nul-byte', '"a\\u0000b"'],
  ['lone-surrogate', '"a\\ud800b"'],
  ['traversal', '"../../etc/passwd"'],
  ['sql', `"'; DROP TABLE experiments;--"`],
  ['proto-string', '"__proto__"'],
  ['emoji', JSON.stringify('😀'.repeat(60))],
  ['empty-array', '[]'],
  ['array', '[1,"a",null]'],
  ['empty-object', '{}'],
  ['proto-object', '{"__proto__":{"polluted":true}}'],
  ['bad-date', '"2026-13-45T99:99:99Z"'],
];

const rawBodies: [string, string | Buffer, string][] = [
  ['empty', '', 'application/json'],
  ['truncated', '{"a":', 'application/json'],
  ['json-null', 'null', 'application/json'],
  ['json-array', '[]', 'application/json'],
  ['json-number', '1', 'application/json'],
  ['json-string', '"s"', 'application/json'],
  ['NaN-literal', '{"x":NaN}', 'application/json'],
  ['proto-pollution', '{"__proto__":{"polluted":true}}', 'application/json'],
  ['constructor-pollution', '{"constructor":{"prototype":{"polluted":true}}}', 'application/json'],
  ['invalid-utf8', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), 'application/json'],
  ['text-plain', '{"a":1}', 'text/plain'],
  ['form', 'a=1&b=2', 'application/x-www-form-urlencoded'],
  ['bom', '\ufeff{}', 'application/json'],
];

const hostileIds = [
  '..%2F..%2Fetc%2Fpasswd',
  '..',
  '%2e%2e',
  encodeURIComponent("'; DROP TABLE experiments;--"),
  'x'.repeat(5000),
  '%00',
  'a%00b',
  '%ED%A0%80',
  '%FF',
  '__proto__',
  'constructor',
  encodeURIComponent('😀'),
  '%25',
  '00000000-0000-0000-0000-000000000000',
  '-1',
  '1e309',
];

const hostileQuery = ['NaN', 'Infinity', '-1', '0', '1e309', '9007199254740993', 'x'.repeat(5000), '%00', '%ED%A0%80', '__proto__', "'%20OR%201=1--", '2026-13-45'];

interface Finding {
  route: string;
  probe: string;
  status: number | string;
  body: string;
}
const findings: Finding[] = [];
const unnamed: Finding[] = [];
const accepted: Finding[] = [];
let sent = 0;

async function send(method: string, path: string, body?: string | Buffer, contentType = 'application/json'): Promise<{ status: number | string; text: string }> {
  sent++;
  const headers: Record<string, string> = {};
  if (TOKEN) headers.authorization = `Bearer ${TOKEN}`;
  if (body !== undefined) headers['content-type'] = contentType;
  try {
    const payload = typeof body === 'string' || body === undefined ? body : new Uint8Array(body);
    const res = await fetch(`${BASE}${path}`, { method: method.toUpperCase(), headers, body: payload, signal: AbortSignal.timeout(Number(process.env.PROBE_TIMEOUT_MS ?? 10_000)) });
    return { status: res.status, text: (await res.text()).slice(0, 400) };
  } catch (err) {
    return { status: `error: ${(err as Error).message}`, text: '' };
  }
}

function record(route: string, probe: string, r: { status: number | string; text: string }, field?: string, expectRejection = false): void {
  const f = { route, probe, status: r.status, body: r.text };
  if (typeof r.status !== 'number' || r.status >= 500) findings.push(f);
  else if (field && r.status >= 400 && r.status < 500 && r.status !== 404 && r.status !== 401 && r.status !== 403 && r.status !== 413 && !r.text.includes(field)) unnamed.push(f);
  else if (expectRejection && r.status < 300) accepted.push(f);
}

/** Every leaf path of a JSON value (objects and arrays), up to depth 4. */
function leaves(v: unknown, path: (string | number)[] = [], depth = 0): (string | number)[][] {
  if (depth > 4 || v === null || typeof v !== 'object') return [path];
  const out: (string | number)[][] = [path];
  const entries = Array.isArray(v) ? v.map((x, i) => [i, x] as const) : Object.entries(v as Record<string, unknown>);
  for (const [k, x] of entries) out.push(...leaves(x, [...path, k], depth + 1));
  return out;
}

/** JSON text of `template` with the value at `path` replaced by raw JSON `raw`. */
function replaced(template: unknown, path: (string | number)[], raw: string): string {
  const marker = `__MARK_${Math.random().toString(36).slice(2)}__`;
  const clone = structuredClone(template) as Record<string | number, unknown>;
  if (path.length === 0) return raw;
  let node: Record<string | number, unknown> = clone;
  const last = path.at(-1);
  if (last === undefined) return raw;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string | number, unknown>;
  node[last] = marker;
  return JSON.stringify(clone).replace(`"${marker}"`, raw);
}

/** Values that are plainly invalid wherever they land (a valid schema accepts none of them as data). */
const neverValid = new Set(['overflow-1e309', 'nul-byte', 'lone-surrogate', 'long-string', 'proto-object']);

async function main(): Promise<void> {
  // An experiment to aim the :key routes at.
  const created = await send('post', '/experiments', JSON.stringify({ ...(templates['/experiments'] as object), key: EXP }));
  console.log(`[probe] setup experiment ${EXP}: ${created.status}`);
  for (const route of ROUTES) {
    if (filter && !route.path.includes(filter)) continue;
    const concrete = route.path.replace(/:(\w+)/g, (_m, name: string) => (name === 'key' ? EXP : name === 'id' ? '00000000-0000-0000-0000-000000000000' : 'u1'));
    const label = `${route.method.toUpperCase()} ${route.path}`;
    // Path parameters.
    if (route.path.includes(':')) {
      for (const id of hostileIds) {
        const p = route.path.replace(/:(\w+)/, id).replace(/:(\w+)/g, 'x');
        const tpl = templates[route.path];
        record(label, `path ${id.slice(0, 40)}`, await send(route.method, p, route.method === 'post' ? JSON.stringify(tpl ?? {}) : undefined));
      }
    }
    // Query parameters.
    if (route.query) {
      const shape = (route.query as unknown as { shape?: Record<string, unknown> }).shape ?? {};
      for (const name of [...Object.keys(shape), '__proto__', 'constructor']) {
        for (const q of hostileQuery) record(label, `query ${name}=${q.slice(0, 30)}`, await send(route.method, `${concrete}?${name}=${q}`));
        record(label, `query ${name} repeated`, await send(route.method, `${concrete}?${name}=1&${name}=2`));
        record(label, `query ${name}[a]=1`, await send(route.method, `${concrete}?${name}[a]=1`));
      }
    }
    if (route.method !== 'post') continue;
    for (const [name, raw, type] of rawBodies) record(label, `raw ${name}`, await send(route.method, concrete, raw, type));
    const tpl = templates[route.path];
    if (tpl === undefined) continue;
    const text = JSON.stringify(tpl);
    record(label, 'unknown field', await send(route.method, concrete, text.replace(/^\{/, '{"zzUnknown":1,')));
    record(label, 'duplicate key', await send(route.method, concrete, text.replace(/^\{"(\w+)":/, '{"$1":{"dup":[1]},"$1":')));
    record(label, 'array of the body', await send(route.method, concrete, `[${text}]`));
    record(label, 'body nested in __proto__', await send(route.method, concrete, text.replace(/^\{/, '{"__proto__":{"isAdmin":true},"constructor":{"prototype":{"x":1}},')));
    for (const path of leaves(tpl)) {
      if (path.length === 0) continue;
      const field = String(path.filter((k) => typeof k === 'string').at(-1) ?? path.at(-1));
      for (const [vname, raw] of hostileValues) {
        record(label, `${path.join('.')} = ${vname}`, await send(route.method, concrete, replaced(tpl, path, raw)), field, neverValid.has(vname));
      }
    }
  }
  for (const f of findings) console.log(`5XX  ${f.route}  [${f.probe}] -> ${f.status} ${f.body.slice(0, 200)}`);
  for (const f of unnamed) console.log(`NONAME ${f.route}  [${f.probe}] -> ${f.status} ${f.body.slice(0, 200)}`);
  for (const f of accepted) console.log(`ACCEPTED ${f.route}  [${f.probe}] -> ${f.status} ${f.body.slice(0, 160)}`);
  console.log(JSON.stringify({ probe: { sent, serverErrors: findings.length, unnamedField: unnamed.length, acceptedInvalid: accepted.length } }));
}

// fetch's timeout timers are unref'd: keep the process alive until every probe has answered.
const keepAlive = setInterval(() => {}, 60_000);
await main();
clearInterval(keepAlive);
