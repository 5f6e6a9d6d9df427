/**
 * Text PostgreSQL cannot store (NUL, unpaired surrogates) is a 400 naming the field at every
 * route, not a 500 from the database (found by the schemathesis run on POST /models).
 */
import { describe, expect, it } from 'vitest';
import { findUnstorableText } from '../../api/storable-text.js';
import { testConfig, uniqueSuffix } from '../helpers/services.js';
import { useApi } from '../helpers/stack.js';

const config = testConfig();
const api = useApi(config);

async function post(path: string, raw: string) {
  const res = await fetch(`${api.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: raw });
  return { status: res.status, body: (await res.json()) as { error: { code: string; message: string } } };
}

describe('unstorable text', () => {
  it('finds NUL and unpaired surrogates in keys and values at any depth; a proper pair is fine', () => {
    expect(findUnstorableText({ a: ['ok', 'emoji \u{1F600}'], b: { c: 1 } })).toBeNull();
    expect(findUnstorableText({ a: [{ b: 'x\u0000y' }] })).toBe('a[0].b');
    expect(findUnstorableText({ a: '\uD83D' })).toBe('a');
    expect(findUnstorableText({ a: 'x\uDE00' })).toBe('a');
    expect(findUnstorableText({ m: { 'k\u0000': 1 } })).toBe('m (a key)');
    let deep: unknown = 'bad\u0000';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(findUnstorableText(deep)).toMatch(/^\[0\]/);
  });

  it('POST /models with a NUL in metadata is a 400 naming the field (was a 500)', async () => {
    const body = `{"entity":"fuzz","modelType":"m","version":"v-${uniqueSuffix()}","uri":"s3://x","metadata":{"note":"a\\u0000b"}}`;
    const r = await post('/models', body);
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'invalid_text', message: expect.stringMatching(/^metadata\.note: contains a NUL/) });
  });

  it('refuses an object key "__proto__" at every route, escaped or not (POST /models was a 500, events lost the field)', async () => {
    const model = await post('/models', `{"entity":"fuzz","modelType":"m","version":"v-${uniqueSuffix()}","uri":"s3://x","metadata":{"a":{"__proto__":null}}}`);
    expect(model.status).toBe(400);
    expect(model.body.error).toMatchObject({ code: 'invalid_text', message: expect.stringMatching(/^metadata\.a\.__proto__: the key "__proto__" is not accepted/) });
    const ev = await post('/events', `{"events":[{"eventId":"e1","experiment":"x","unitId":"u","name":"n","properties":{"\\u005f_proto__":{"plan":"pro"},"k":1}}]}`);
    expect(ev.status).toBe(400);
    expect(ev.body.error.message).toMatch(/^events\[0\]\.properties\.__proto__: the key "__proto__"/);
    const as = await post('/assign', `{"experiment":"x","unitId":"u","context":{"__proto__":{"country":"PT"}}}`);
    expect(as.status).toBe(400);
    expect(as.body.error.message).toMatch(/^context\.__proto__: /);
    const ctx = await post('/context', `{"signals":[{"source":"s","name":"n","value":1,"timestamp":"2026-01-01T00:00:00Z","scope":{"__proto__":"x","country":"PT"}}]}`);
    expect(ctx.status).toBe(400);
    expect(ctx.body.error.message).toMatch(/^signals\[0\]\.scope\.__proto__: /);
  });

  it('POST /context refuses an unpaired surrogate in an attribute scope (jsonb cannot store it)', async () => {
    const ctx = await post('/context', `{"signals":[{"source":"s","name":"n","value":1,"timestamp":"2026-01-01T00:00:00Z","scope":{"country":"\\ud800"}}]}`);
    expect(ctx.status).toBe(400);
    expect(ctx.body.error.message).toMatch(/^signals\[0\]\.scope\.country: /);
  });

  it('events and assignment refuse it too', async () => {
    const ev = await post('/events', `{"events":[{"eventId":"e1","experiment":"x","unitId":"u","name":"n","context":{"k":"\\ud800"}}]}`);
    expect(ev.status).toBe(400);
    expect(ev.body.error.message).toMatch(/^events\[0\]\.context\.k: /);
    const as = await post('/assign', `{"experiment":"x","unitId":"u\\u0000"}`);
    expect(as.status).toBe(400);
    expect(as.body.error.message).toMatch(/^unitId: /);
  });
});
