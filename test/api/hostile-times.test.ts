/**
 * Times outside what PostgreSQL's timestamp and JavaScript's Date both hold (year 0, negative
 * years, past 275760, a window longer than that range) are a 400 naming the field, never a 500
 * from the query that received them, and nothing is written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type RunningApi } from '../../api/main.js';
import { createPrisma } from '../../infra/prisma.js';
import { createRedis } from '../../infra/redis.js';
import { abExperiment, createExperimentRow } from '../helpers/fixtures.js';
import { postJson } from '../helpers/http.js';
import { testConfig, uniqueSuffix } from '../helpers/services.js';

const config = testConfig();
const prisma = createPrisma(config.databaseUrl);
const redis = createRedis(config.redisUrl);
const key = `times-${uniqueSuffix()}`;
let api: RunningApi;

beforeAll(async () => {
  await createExperimentRow(prisma, redis, abExperiment(key));
  api = await startApi(config, 0);
});
afterAll(async () => {
  await api.close();
  await prisma.$disconnect();
  redis.disconnect();
});

const OUT_OF_RANGE = ['0000-01-01T00:00:00Z', '0001-01-01T00:00:00+14:00', '-200000-01-01T00:00:00Z', '+275000-01-01T00:00:00Z', '-271821-04-20T00:00:00Z'];

const issueFields = (body: any): string[] => (body?.error?.details?.issues ?? []).map((i: { field: string }) => i.field);

describe('times outside the storable range', () => {
  it.each(OUT_OF_RANGE)('GET /entities/:entity/report?at=%s is a 400 naming at', async (at) => {
    const res = await fetch(`${api.url}/entities/e-${key}/report?at=${encodeURIComponent(at)}`);
    expect(res.status).toBe(400);
    expect(issueFields(await res.json())).toContain('at');
  });

  it.each(OUT_OF_RANGE.filter((t) => /^\d{4}-/.test(t)))('GET /context/signals?since=%s is a 400 naming since', async (since) => {
    const res = await fetch(`${api.url}/context/signals?source=s&name=n&since=${encodeURIComponent(since)}`);
    expect(res.status).toBe(400);
    expect(issueFields(await res.json())).toContain('since');
  });

  it.each(OUT_OF_RANGE.filter((t) => /^\d{4}-/.test(t)))('POST /models trainedAt %s is a 400 naming trainedAt, and registers nothing', async (trainedAt) => {
    const entity = `e-${uniqueSuffix()}`;
    const res = await postJson(`${api.url}/models`, { entity, modelType: 'ranker', version: 'v1', uri: 's3://m/v1', trainedAt });
    expect(res.status).toBe(400);
    expect(issueFields(res.body)).toContain('trainedAt');
    expect(await prisma.modelVersion.count({ where: { entity } })).toBe(0);
  });

  it.each([
    ['from', { from: '-200000-01-01T00:00:00Z' }],
    ['from', { from: '0000-01-01T00:00:00Z' }],
    ['to', { to: 8.64e15 }],
    ['to', { to: '+275000-01-01T00:00:00Z' }],
    ['from', { from: true }],
  ])('POST /evaluations with a bad %s (%j) is a 400 naming it, and records no run', async (field, range) => {
    const before = await prisma.evaluationRun.count();
    const res = await postJson(`${api.url}/evaluations`, { kind: 'export', experiment: key, mode: 'inline', ...range });
    expect(res.status).toBe(400);
    expect(issueFields(res.body)).toContain(field);
    expect(await prisma.evaluationRun.count()).toBe(before);
  });

  it('POST /evaluations with a window longer than the storable range is a 400 naming window', async () => {
    const res = await postJson(`${api.url}/evaluations`, { kind: 'window', experiment: key, mode: 'inline', window: '99999999999999999999d' });
    expect(res.status).toBe(400);
    expect(issueFields(res.body)).toContain('window');
  });

  it('times inside the range still work', async () => {
    const at = await fetch(`${api.url}/entities/e-${key}/report?at=${encodeURIComponent('2026-01-01T00:00:00Z')}`);
    expect(at.status).toBe(200);
    const since = await fetch(`${api.url}/context/signals?source=s&name=n&since=${encodeURIComponent('1970-01-01T00:00:00Z')}`);
    expect(since.status).toBe(200);
  });
});
