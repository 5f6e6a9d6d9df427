/**
 * Evaluation datasets: every exposure of the scope's experiments in [from, to) (unit id as stored,
 * i.e. the pseudonym the API edge wrote; propensity; assignment segment; snapshot version; context;
 * the weights of its randomisation cell) joined with each metric's outcome over the experiment's
 * attribution window, counting only events before `to`, so a re-export of a closed range is
 * identical. One row per exposure × metric.
 *
 * Postgres streams the join out with `COPY (…) TO STDOUT` (CSV) into a temporary file; DuckDB (no
 * extensions: they would be downloads) loads it and writes NDJSON and Parquet ordered by
 * (experiment, unit, metric). The content hash is SHA-256 of that canonical NDJSON, so it depends
 * only on the rows, never on export order, ids or paths.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { Pool } from 'pg';
import { at } from '../domain/at.js';
import { experimentConfigSchema } from '../domain/experiment/config.js';
import type { MetricSpec } from '../domain/types.js';
import type { PrismaClient } from './prisma.js';
import { eventCountsFor } from './ingest.js';

export type DatasetFormat = 'ndjson' | 'parquet';

/** What to export: exactly one of entity, experiment or model version, and a time range. */
export interface DatasetScope {
  entity?: string;
  experiment?: string;
  /** A model version: every comparison in which it was an arm (optionally of one entity). */
  modelVersion?: string;
  from: Date;
  to: Date;
}

export interface ScopedExperiment {
  id: string;
  key: string;
  entity: string | null;
  control: string;
  variants: string[];
  contextual: boolean;
  metrics: MetricSpec[];
  attribution: { lookbackSeconds: number; windowSeconds: number | null };
}

export interface ExportedDataset {
  id: string;
  contentHash: string;
  rowCount: number;
  files: Partial<Record<DatasetFormat, string>>;
  query: string;
  experiments: ScopedExperiment[];
}

export class DatasetScopeError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** Columns of every dataset, in order (DuckDB types). */
export const DATASET_COLUMNS: ReadonlyArray<[string, string]> = [
  ['experiment_key', 'VARCHAR'],
  ['unit_id', 'VARCHAR'],
  ['variant', 'VARCHAR'],
  ['propensity', 'DOUBLE'],
  ['segment', 'INTEGER'],
  ['snapshot_version', 'INTEGER'],
  ['assigned_at', 'TIMESTAMP'],
  ['context', 'JSON'],
  ['logging_weights', 'JSON'],
  ['metric', 'VARCHAR'],
  ['value', 'DOUBLE'],
];

/** The experiments a scope covers, with what the join needs to know about each. */
export async function resolveScope(prisma: PrismaClient, scope: Omit<DatasetScope, 'from' | 'to'>): Promise<ScopedExperiment[]> {
  const given = (['entity', 'experiment', 'modelVersion'] as const).filter((k) => scope[k] !== undefined);
  if (given.length !== 1) throw new DatasetScopeError('scope', 'give exactly one of entity, experiment or modelVersion');
  let where: object;
  if (scope.experiment !== undefined) where = { key: scope.experiment };
  else if (scope.entity !== undefined) {
    const models = await prisma.modelVersion.findMany({ where: { entity: scope.entity, experimentKey: { not: null } }, select: { experimentKey: true } });
    where = { OR: [{ config: { path: ['entity'], equals: scope.entity } }, { key: { in: models.map((m) => m.experimentKey!) } }] };
  } else {
    const versions = await prisma.modelVersion.findMany({ where: { version: scope.modelVersion }, select: { id: true } });
    // A comparison's arms carry their model version id in the variant payload (domain/models/comparison.ts).
    const variants = await prisma.$queryRaw<Array<{ experimentId: string }>>`
      SELECT DISTINCT "experimentId"::text AS "experimentId" FROM "Variant" WHERE payload->>'modelVersionId' = ANY(${versions.map((v) => v.id)}::text[])`;
    where = { id: { in: variants.map((v) => v.experimentId) } };
  }
  const rows = await prisma.experiment.findMany({ where, include: { variants: { orderBy: { key: 'asc' } } }, orderBy: { key: 'asc' } });
  if (rows.length === 0) {
    const field = scope.experiment !== undefined ? 'experiment' : scope.entity !== undefined ? 'entity' : 'modelVersion';
    throw new DatasetScopeError(field, `no experiment matches ${field} '${scope[field]}'`);
  }
  return rows.map((r) => {
    const config = experimentConfigSchema.parse(r.config);
    return {
      id: r.id,
      key: r.key,
      entity: config.entity ?? null,
      control: r.variants.find((v) => v.isControl)?.key ?? at(r.variants, 0, 'variants').key,
      variants: r.variants.map((v) => v.key),
      contextual: config.policy.kind === 'contextual',
      metrics: config.metrics,
      attribution: {
        lookbackSeconds: config.attribution.lookbackSeconds,
        windowSeconds: config.attribution.windowHours === undefined ? null : config.attribution.windowHours * 3600,
      },
    };
  });
}

const lit = (s: string) => pg.escapeLiteral(s);
const arr = (xs: readonly string[]) => `ARRAY[${xs.map(lit).join(', ')}]::text[]`;

/**
 * The join for one experiment as a self-contained SELECT (COPY takes no bind parameters, so every
 * value is an escaped literal). Timestamps are compared as UTC.
 */
export function exportQuery(exp: ScopedExperiment, from: Date, to: Date): string {
  const f = lit(from.toISOString());
  const t = lit(to.toISOString());
  const window = exp.attribution.windowSeconds === null ? '' : `AND e."timestamp" <= a."assignedAt" + make_interval(secs => ${Number(exp.attribution.windowSeconds)})`;
  return `WITH a AS (
  SELECT a."unitId", a.variant, a.propensity, a.segment, a."snapshotVersion", a.context, a."assignedAt"
  FROM "Assignment" a
  WHERE a."experimentId" = ${lit(exp.id)}::uuid AND a."assignedAt" >= ${f}::timestamptz AND a."assignedAt" < ${t}::timestamptz
),
mt AS (SELECT * FROM unnest(${arr(exp.metrics.map((m) => m.key))}, ${arr(exp.metrics.map((m) => m.event))}, ${arr(exp.metrics.map((m) => m.type))}) AS mt(key, event, type)),
ev AS (
  SELECT e."unitId", e.name, COUNT(*)::float8 AS c, SUM(e.value)::float8 AS s
  FROM "Event" e JOIN a ON a."unitId" = e."unitId"
  WHERE ${eventCountsFor('e', `${lit(exp.id)}::uuid`)} AND e.name = ANY(${arr(exp.metrics.map((m) => m.event))})
    AND e."timestamp" >= a."assignedAt" - make_interval(secs => ${Number(exp.attribution.lookbackSeconds)}) ${window}
    AND e."timestamp" < ${t}::timestamptz
  GROUP BY e."unitId", e.name
),
w AS (
  SELECT DISTINCT ON (s.version, (seg->>'id')::int) s.version, (seg->>'id')::int AS segment, seg->'weights' AS weights
  FROM "AllocationSnapshot" s CROSS JOIN LATERAL jsonb_array_elements(s.snapshot->'segments') seg
  WHERE s."experimentId" = ${lit(exp.id)}::uuid
  ORDER BY s.version, (seg->>'id')::int
)
SELECT ${lit(exp.key)} AS experiment_key, a."unitId", a.variant, a.propensity, a.segment, a."snapshotVersion",
       to_char(a."assignedAt", 'YYYY-MM-DD HH24:MI:SS.MS') AS assigned_at, a.context::text,
       w.weights::text AS logging_weights,
       mt.key AS metric,
       CASE WHEN mt.type = 'binary' THEN (CASE WHEN ev.c > 0 THEN 1.0 ELSE 0.0 END)
            WHEN mt.type = 'count' THEN COALESCE(ev.c, 0)
            ELSE COALESCE(ev.s, 0) END::float8 AS value
FROM a CROSS JOIN mt
LEFT JOIN ev ON ev."unitId" = a."unitId" AND ev.name = mt.event
LEFT JOIN w ON w.version = a."snapshotVersion" AND w.segment = a.segment`;
}

/** Streams each experiment's join to one CSV file with COPY; returns the queries run. */
async function copyJoinToCsv(pool: Pool, experiments: readonly ScopedExperiment[], from: Date, to: Date, csvPath: string): Promise<string[]> {
  const client = await pool.connect();
  const queries: string[] = [];
  const out = createWriteStream(csvPath);
  try {
    // UTC: to_char of a timestamp column and the timestamptz literals agree only there. No JIT:
    // compiling this one-pass join costs more than it saves (measured by bench:evaluate).
    await client.query(`SET TIME ZONE 'UTC'; SET jit = off`);
    for (const exp of experiments) {
      const q = exportQuery(exp, from, to);
      queries.push(q);
      const stream = client.query(copyTo(`COPY (${q}) TO STDOUT (FORMAT csv)`));
      await pipeline(stream, out, { end: false });
    }
    await new Promise<void>((res, rej) => out.end((err?: Error | null) => (err ? rej(err) : res())));
    await client.query('RESET TIME ZONE; RESET jit');
    client.release();
  } catch (err) {
    out.destroy();
    // A connection interrupted mid-COPY is not returned to the pool.
    client.release(err as Error);
    throw err;
  }
  return queries;
}

const ORDER = 'experiment_key, unit_id, metric';
const columnsSpec = () => `{${DATASET_COLUMNS.map(([n, t]) => `'${n}': '${t}'`).join(', ')}}`;
const sqlPath = (p: string) => `'${p.replace(/'/g, "''")}'`;

/** Loads an exported CSV into a DuckDB table named `name`, in canonical order (sorted once, written as stored). */
async function loadCsvIntoDuckDb(conn: DuckDBConnection, csvPath: string, name = 'ds'): Promise<void> {
  await conn.run(
    `CREATE OR REPLACE TABLE ${name} AS SELECT * FROM read_csv(${sqlPath(csvPath)}, header = false, quote = '"', escape = '"', allow_quoted_nulls = false, auto_detect = false, columns = ${columnsSpec()}) ORDER BY ${ORDER}`,
  );
}

/** SHA-256 of a file's bytes. */
async function hashFile(path: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}

export interface ExportOptions {
  dir: string;
  formats?: DatasetFormat[];
  /** Reuse a DuckDB instance (the bench); a fresh in-memory one otherwise. */
  duckdb?: DuckDBInstance;
}

/**
 * Exports a scope's dataset, registers it in EvaluationDataset, and returns it. The files are
 * written under `dir/<id>.{ndjson,parquet}`; the row is inserted only once every file is complete.
 */
export async function exportDataset(deps: { prisma: PrismaClient; pool: Pool }, scope: DatasetScope, opts: ExportOptions): Promise<ExportedDataset> {
  if (!(scope.from.getTime() < scope.to.getTime())) throw new DatasetScopeError('from', 'from must be before to');
  const experiments = await resolveScope(deps.prisma, scope);
  const formats = opts.formats ?? ['ndjson', 'parquet'];
  const id = randomUUID();
  const dir = resolve(opts.dir);
  await mkdir(dir, { recursive: true });
  const csv = join(dir, `${id}.csv.tmp`);
  const ndjson = join(dir, `${id}.ndjson`);
  const files: Partial<Record<DatasetFormat, string>> = {};
  const instance = opts.duckdb ?? (await DuckDBInstance.create(':memory:'));
  const conn = await instance.connect();
  try {
    const queries = await copyJoinToCsv(deps.pool, experiments, scope.from, scope.to, csv);
    await loadCsvIntoDuckDb(conn, csv);
    // The canonical NDJSON is always written: the hash is of it.
    // DuckDB keeps insertion order by default (preserve_insertion_order), so the files come out sorted.
    await conn.run(`COPY ds TO ${sqlPath(ndjson)} (FORMAT json)`);
    if (formats.includes('ndjson')) files.ndjson = ndjson;
    if (formats.includes('parquet')) {
      files.parquet = join(dir, `${id}.parquet`);
      await conn.run(`COPY ds TO ${sqlPath(files.parquet)} (FORMAT parquet)`);
    }
    const count = await conn.runAndReadAll('SELECT count(*)::INTEGER AS n FROM ds');
    const rowCount = Number(at(count.getRowObjects(), 0, 'count rows').n);
    const contentHash = await hashFile(ndjson);
    if (!formats.includes('ndjson')) await rm(ndjson, { force: true });
    const query = queries.join(';\n\n');
    const first = at(experiments, 0, 'experiments'); // the scope query refuses an empty scope
    await deps.prisma.evaluationDataset.create({
      data: {
        id,
        entity: scope.entity ?? (experiments.every((e) => e.entity === first.entity) ? first.entity : null),
        experimentKey: scope.experiment ?? (experiments.length === 1 ? first.key : null),
        modelVersion: scope.modelVersion ?? null,
        scope: { experiments: experiments.map((e) => ({ key: e.key, metrics: e.metrics.map((m) => m.key) })) },
        rangeStart: scope.from,
        rangeEnd: scope.to,
        query,
        contentHash,
        rowCount,
        files,
      },
    });
    return { id, contentHash, rowCount, files, query, experiments };
  } catch (err) {
    // Nothing half-written: a failed export leaves no files and no row.
    await Promise.all([ndjson, join(dir, `${id}.parquet`)].map((p) => rm(p, { force: true })));
    throw err;
  } finally {
    await rm(csv, { force: true });
    conn.closeSync();
    if (!opts.duckdb) instance.closeSync();
  }
}
