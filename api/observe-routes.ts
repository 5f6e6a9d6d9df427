/**
 * The read side served by the API: reports, the dashboard (static files from web/ and ECharts from
 * node_modules, no build step), the experiment list summary the dashboard polls, and /metrics.
 * Actions on the dashboard call the existing control-plane routes, so they are audited as usual.
 */
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { isStorableTime, STORABLE_TIME_MESSAGE } from '../domain/storable-time.js';
import type { PrismaClient } from '../infra/prisma.js';
import { METRICS_CONTENT_TYPE, type ApiMetrics } from '../infra/metrics.js';
import { parseOrThrow } from './errors.js';
import type { ReportService } from './report-service.js';
import { experimentKeyParam } from './schemas.js';

export interface ObserveDeps {
  reports: ReportService;
  prisma: PrismaClient;
  metrics?: ApiMetrics;
  temporalUiUrl: string;
  namespace: string;
}

const WEB_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', 'web');
const ECHARTS = createRequire(import.meta.url).resolve('echarts/dist/echarts.min.js');

export const entityParam = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:\/-]{0,99}$/, 'use up to 100 letters, digits or _ . : / -');
export const entityQuery = z.object({
  at: z
    .string()
    .refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO-8601 time')
    .refine((s) => Number.isNaN(Date.parse(s)) || isStorableTime(Date.parse(s)), STORABLE_TIME_MESSAGE)
    .transform((s) => new Date(s))
    .optional(),
});

/** Records every request's latency under its route template (never the raw URL). */
export function latencyMiddleware(metrics: ApiMetrics) {
  return (req: Request, res: Response, next: NextFunction) => {
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : req.path.startsWith('/dashboard') ? '/dashboard' : '(unmatched)';
      metrics.request(req.method, route, res.statusCode, Number(process.hrtime.bigint() - start) / 1e9);
    });
    next();
  };
}

export function mountObserveRoutes(app: Express, d: ObserveDeps): void {
  app.get('/experiments/:key/report', async (req, res) => {
    res.json(await d.reports.experimentReport(parseOrThrow(experimentKeyParam, req.params.key, 'key')));
  });

  app.get('/entities/:entity/report', async (req, res) => {
    const entity = parseOrThrow(entityParam, req.params.entity, 'entity');
    const { at } = parseOrThrow(entityQuery, req.query);
    res.json(await d.reports.entityReport(entity, at));
  });

  /** One row per experiment for the dashboard's list: phase, cycle, last decision, open alarms. */
  app.get('/reports/experiments', async (_req, res) => {
    const [experiments, decisions, snapshots, alerts] = await Promise.all([
      d.prisma.experiment.findMany({ orderBy: { createdAt: 'desc' }, take: 500, select: { id: true, key: true, name: true, kind: true, status: true, owner: true, createdAt: true, config: true } }),
      d.prisma.$queryRaw<Array<{ experimentId: string; cycle: number; outcome: string; rationale: string; createdAt: Date }>>`
        SELECT DISTINCT ON ("experimentId") "experimentId", cycle, outcome, rationale, "createdAt" FROM "Decision" ORDER BY "experimentId", cycle DESC`,
      d.prisma.$queryRaw<Array<{ experimentId: string; version: number; createdAt: Date }>>`
        SELECT DISTINCT ON ("experimentId") "experimentId", version, "createdAt" FROM "AllocationSnapshot" ORDER BY "experimentId", version DESC`,
      d.prisma.alert.findMany({ where: { resolvedAt: null }, orderBy: { firedAt: 'desc' }, take: 1000 }),
    ]);
    const decisionOf = new Map(decisions.map((x) => [x.experimentId, x]));
    const snapshotOf = new Map(snapshots.map((x) => [x.experimentId, x]));
    res.json({
      temporalUiUrl: d.temporalUiUrl,
      experiments: experiments.map((e) => {
        const dec = decisionOf.get(e.id);
        const snap = snapshotOf.get(e.id);
        return {
          key: e.key,
          name: e.name,
          kind: e.kind,
          status: e.status,
          owner: e.owner,
          createdAt: e.createdAt,
          entity: (e.config as { entity?: string } | null)?.entity ?? null,
          cycle: dec?.cycle ?? 0,
          lastDecision: dec ? { cycle: dec.cycle, outcome: dec.outcome, rationale: dec.rationale, at: dec.createdAt } : null,
          snapshot: snap ? { version: snap.version, at: snap.createdAt } : null,
          alarms: alerts.filter((a) => a.experimentKey === e.key).map((a) => ({ kind: a.kind, severity: a.severity, message: a.message, firedAt: a.firedAt })),
          workflowUrl: d.reports.workflowUrl(e.key),
        };
      }),
      systemAlarms: alerts.filter((a) => a.experimentKey === null).map((a) => ({ kind: a.kind, severity: a.severity, message: a.message, firedAt: a.firedAt })),
    });
  });

  app.get('/reports/entities', async (_req, res) => {
    const rows = await d.prisma.$queryRaw<Array<{ entity: string }>>`
      SELECT DISTINCT entity FROM (
        SELECT entity FROM "ModelVersion"
        UNION SELECT config ->> 'entity' FROM "Experiment" WHERE config ? 'entity'
      ) e WHERE entity IS NOT NULL ORDER BY entity LIMIT 1000`;
    res.json({ entities: rows.map((r) => r.entity) });
  });

  app.get('/dashboard/config.json', (_req, res) => {
    res.json({ temporalUiUrl: d.temporalUiUrl, namespace: d.namespace });
  });
  app.get('/dashboard/vendor/echarts.min.js', (_req, res) => {
    res.sendFile(ECHARTS, { maxAge: '1h' });
  });
  app.use('/dashboard', express.static(WEB_ROOT, { index: 'index.html', maxAge: 0 }));
  app.get('/', (_req, res) => res.redirect('/dashboard/'));

  if (d.metrics) {
    const registry = d.metrics.registry;
    app.get('/metrics', async (_req, res) => {
      res.type(METRICS_CONTENT_TYPE).send(await registry.metrics());
    });
  }
}
