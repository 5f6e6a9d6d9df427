/**
 * The OpenAPI document: it covers exactly the routes the server answers, every $ref resolves, and
 * it is served at /openapi.json with a self-contained docs page at /docs.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type AppDeps } from '../../api/app.js';
import { ROUTES, buildOpenApiDocument } from '../../api/openapi.js';
import { createApiServer } from '../../api/server.js';
import type { Authenticator } from '../../api/auth.js';
import type { AssignService } from '../../api/assign-service.js';

// Route handlers are never called here: only the routing table and the contract routes are used.
const auth = { authorize: async () => ({ actor: 'test', role: 'admin', experiments: [], entities: [] }) } as unknown as Authenticator;
const app = createApp({ experiments: {}, events: {}, models: {}, auth, observe: { reports: {}, prisma: {}, temporalUiUrl: '', namespace: 'default' } } as unknown as AppDeps);
const server = createApiServer(app, {} as AssignService, auth);
let base = '';
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
});

/** The method + path pairs Express routes, from its router. */
function expressRoutes(): string[] {
  const stack = (app as unknown as { router: { stack: Array<{ route?: { path: string; methods: Record<string, boolean> } }> } }).router.stack;
  return stack.flatMap((l) => (l.route ? Object.keys(l.route.methods).map((m) => `${m} ${l.route!.path}`) : []));
}

describe('OpenAPI document', () => {
  it('documents every route the server answers, and no other', () => {
    // The docs and the dashboard's page assets are not API operations.
    const pages = new Set(['get /openapi.json', 'get /docs', 'get /', 'get /dashboard/config.json', 'get /dashboard/vendor/echarts.min.js']);
    const served = [...expressRoutes().filter((r) => !pages.has(r)), 'post /assign'].sort();
    expect(ROUTES.map((r) => `${r.method} ${r.path}`).sort()).toEqual(served);
  });

  it('is OpenAPI 3.1 whose $refs all resolve, with one error envelope on every operation', () => {
    const doc = buildOpenApiDocument('test') as { openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown> }>>; components: { schemas: Record<string, unknown> } };
    expect(doc.openapi).toBe('3.1.0');
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(20);
    for (const ref of refs) {
      expect(ref).toMatch(/^#\/components\/schemas\//);
      expect(doc.components.schemas, ref).toHaveProperty([ref.split('/').pop()!]);
    }
    const ops = Object.values(doc.paths).flatMap((m) => Object.values(m));
    expect(ops).toHaveLength(ROUTES.length);
    for (const op of ops) expect(op.responses.default).toMatchObject({ content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });
    // Request bodies are described as sent: a defaulted field is optional.
    expect((doc.components.schemas.AssignRequest as { required: string[] }).required).toEqual(['experiment', 'unitId']);
  });

  it('is served at /openapi.json, with a docs page at /docs that loads it', async () => {
    const res = await fetch(`${base}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const doc = (await res.json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toContain('/experiments/{key}/conclude');
    const page = await fetch(`${base}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toContain("fetch('/openapi.json')");
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href="http/); // nothing from a CDN
  });

  it('answers an unknown route with the error envelope and no stack trace', async () => {
    const res = await fetch(`${base}/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: 'not_found', message: 'no such route', details: null } });
  });
});
