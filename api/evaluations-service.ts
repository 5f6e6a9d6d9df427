/**
 * Offline evaluations over HTTP: `POST /evaluations` answers small ones inline and runs large ones
 * (or any with `mode: "workflow"`) as an `evaluationWorkflow`, so they are durable and visible in
 * Temporal; every run's request and result are stored (EvaluationRun) and linked to the dataset it
 * read (EvaluationDataset), listed per entity by `GET /datasets?entity=`.
 */
import type { Client } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { z } from 'zod';
import { EvaluationInputError, runAndRecord } from '../activities/evaluate.js';
import { exposureCount } from '../infra/evaluation-runs.js';
import { evaluationRequestSchema, type EvaluationRequest } from '../domain/evaluation/request.js';
import type { PrismaClient } from '../infra/prisma.js';
import { evaluationWorkflow } from '../workflows/evaluation.js';
import { ApiError } from './errors.js';

/** Above this many exposures an `auto` evaluation runs as a workflow. */
const INLINE_MAX_EXPOSURES = 50_000;

export const postEvaluationSchema = z.intersection(evaluationRequestSchema, z.object({ mode: z.enum(['auto', 'inline', 'workflow']).default('auto') }));
export const listDatasetsSchema = z.object({ entity: z.string().min(1).max(200), limit: z.coerce.number().int().min(1).max(500).default(100) });
export const evaluationIdParam = z.string().uuid();

export interface EvaluationsDeps {
  prisma: PrismaClient;
  pool: Pool;
  temporal: Client;
  taskQueue: string;
  evaluationDataDir: string;
}

export class EvaluationsService {
  constructor(private readonly d: EvaluationsDeps) {}

  async create(input: z.infer<typeof postEvaluationSchema>): Promise<{ status: number; body: unknown }> {
    const { mode, ...req } = input;
    if (req.experiment !== undefined && !(await this.d.prisma.experiment.findUnique({ where: { key: req.experiment }, select: { id: true } }))) {
      throw new ApiError(400, 'invalid_request', `experiment: '${req.experiment}' does not exist`);
    }
    const large = mode === 'workflow' || (mode === 'auto' && (await exposureCount(this.d.pool, req.experiment)) > INLINE_MAX_EXPOSURES);
    if (!large) return { status: 201, body: await this.inline(req) };
    const id = randomUUID();
    const workflowId = `evaluation-${id}`;
    await this.d.prisma.evaluationRun.create({ data: { id, kind: req.kind, request: JSON.parse(JSON.stringify(req)) as object, workflowId } });
    await this.d.temporal.workflow.start(evaluationWorkflow, { workflowId, taskQueue: this.d.taskQueue, args: [{ runId: id }] });
    return { status: 202, body: await this.get(id) };
  }

  private async inline(req: EvaluationRequest) {
    try {
      const { runId } = await runAndRecord(this.d, req);
      return this.get(runId);
    } catch (err) {
      if (err instanceof EvaluationInputError) throw new ApiError(400, 'invalid_request', err.message, { issues: [{ field: err.field, message: err.message }] });
      throw err;
    }
  }

  async get(id: string) {
    const run = await this.d.prisma.evaluationRun.findUnique({ where: { id } });
    if (!run) throw new ApiError(404, 'not_found', `id: evaluation ${id} does not exist`);
    return {
      id: run.id,
      kind: run.kind,
      status: run.status,
      request: run.request,
      result: run.result,
      error: run.error,
      dataset: run.datasetId ? { id: run.datasetId, href: `/datasets/${run.datasetId}` } : null,
      workflowId: run.workflowId,
      createdAt: run.createdAt,
      finishedAt: run.finishedAt,
    };
  }

  async listDatasets(q: z.infer<typeof listDatasetsSchema>) {
    const rows = await this.d.prisma.evaluationDataset.findMany({
      where: { entity: q.entity },
      orderBy: { createdAt: 'desc' },
      take: q.limit,
      include: { runs: { select: { id: true, kind: true, status: true }, orderBy: { createdAt: 'asc' } } },
    });
    return rows.map(datasetView);
  }

  async dataset(id: string) {
    const row = await this.d.prisma.evaluationDataset.findUnique({ where: { id }, include: { runs: { select: { id: true, kind: true, status: true }, orderBy: { createdAt: 'asc' } } } });
    if (!row) throw new ApiError(404, 'not_found', `id: dataset ${id} does not exist`);
    return { ...datasetView(row), query: row.query };
  }
}

function datasetView(r: { id: string; entity: string | null; experimentKey: string | null; modelVersion: string | null; scope: unknown; rangeStart: Date; rangeEnd: Date; contentHash: string; rowCount: number; files: unknown; createdAt: Date; runs: Array<{ id: string; kind: string; status: string }> }) {
  return {
    id: r.id,
    entity: r.entity,
    experiment: r.experimentKey,
    modelVersion: r.modelVersion,
    scope: r.scope,
    from: r.rangeStart,
    to: r.rangeEnd,
    contentHash: r.contentHash,
    rowCount: r.rowCount,
    files: r.files,
    createdAt: r.createdAt,
    evaluations: r.runs.map((x) => ({ ...x, href: `/evaluations/${x.id}` })),
  };
}
