/** One error envelope for every route: `{error: {code, message, details}}` with an HTTP status. */
import type { ServerResponse } from 'node:http';
import type { z } from 'zod';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
    /** Extra response headers, e.g. Retry-After on 429/503. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export interface FieldIssue {
  field: string;
  message: string;
}

type Issue = z.core.$ZodIssue;

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let v = data;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

/**
 * zod reports a body matching none of a union's shapes as one "Invalid input" at the union. Report
 * instead the issues of the shape the caller evidently meant: the branch whose complaints are least
 * about fields the body does not have (`{weights: null}` meant the weights shape, not `{clear: true}`).
 */
function expandUnion(issue: Issue, data: unknown): Issue[] {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return [issue];
  const at = valueAt(data, issue.path);
  let best: Issue[] = [];
  let bestScore = Infinity;
  for (const branch of issue.errors) {
    const score = branch.reduce((s, i) => s + (valueAt(at, i.path) === undefined ? 10 : 1), 0);
    if (score < bestScore) {
      best = branch;
      bestScore = score;
    }
  }
  return best.flatMap((i) => expandUnion({ ...i, path: [...issue.path, ...i.path] } as Issue, data));
}

/** Turns zod issues into a 400 whose message names the first offending field. */
function validationError(error: z.ZodError, prefix = '', data?: unknown): ApiError {
  const issues: FieldIssue[] = error.issues.flatMap((i) => expandUnion(i, data)).map((i) => ({ field: fieldPath(prefix, i.path), message: i.message }));
  const first = issues[0];
  return new ApiError(400, 'invalid_request', first ? `${first.field || 'body'}: ${first.message}` : 'invalid request', { issues });
}

function fieldPath(prefix: string, path: PropertyKey[]): string {
  let out = prefix;
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

/** Parses with a zod schema or throws the 400 naming the field. */
export function parseOrThrow<T extends z.ZodType>(schema: T, data: unknown, prefix = ''): z.infer<T> {
  const r = schema.safeParse(data);
  if (!r.success) throw validationError(r.error, prefix, data);
  return r.data;
}

const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_UNAVAILABLE = 14;

/** The gRPC status code of an error or of the first error in its cause chain that has one. */
export function grpcCode(e: unknown): number | undefined {
  for (let err = e; err instanceof Error; err = err.cause) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'number') return code;
  }
  return undefined;
}

function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  const err = e as { type?: string; status?: number; message?: string };
  // body-parser errors (malformed JSON, too large) carry a status and a type.
  if (err?.type === 'entity.parse.failed') return new ApiError(400, 'invalid_json', 'body: not valid JSON');
  if (err?.type === 'entity.too.large') return new ApiError(413, 'payload_too_large', 'body: too large');
  // ioredis gave up on a command while Redis is away: the dependency's outage, not a bug.
  if (e instanceof Error && (e.name === 'MaxRetriesPerRequestError' || /^Connection is closed|enableOfflineQueue options is false/.test(e.message))) {
    return new ApiError(503, 'redis_unavailable', `Redis is unreachable (${e.message.slice(0, 100)}); retry`, null, { 'retry-after': '5' });
  }
  // The Temporal server did not answer: down (UNAVAILABLE) or past the call's deadline (temporal-rpc.ts).
  const code = grpcCode(e);
  if (code === GRPC_DEADLINE_EXCEEDED || code === GRPC_UNAVAILABLE) {
    return new ApiError(503, 'temporal_unavailable', `the Temporal server did not answer (${String(err?.message).slice(0, 120)}); retry`, null, { 'retry-after': '5' });
  }
  // Express decoding a malformed %-escape in a path parameter.
  if (e instanceof URIError) return new ApiError(400, 'invalid_request', 'path: malformed percent-encoding');
  return new ApiError(500, 'internal', 'internal error');
}

export function writeError(res: ServerResponse, e: unknown): void {
  const err = toApiError(e);
  if (err.status >= 500 && !(e instanceof ApiError)) console.error('[api]', e);
  const body = JSON.stringify({ error: { code: err.code, message: err.message, details: err.details } });
  res.writeHead(err.status, { ...err.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
