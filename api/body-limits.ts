/**
 * Limits every JSON body must meet before a schema sees it: the JSON media type (a cross-site form
 * or `text/plain` request cannot pass, which closes the CSRF door of "simple" requests), a size cap,
 * and a nesting depth checked iteratively, so recursive validators never meet a 10k-deep document.
 */
import type { IncomingMessage } from 'node:http';
import { ApiError } from './errors.js';

const MAX_JSON_DEPTH = 32;

/** True when `value` nests objects/arrays deeper than `max` levels (iterative: no stack to overflow). */
function exceedsDepth(value: unknown, max = MAX_JSON_DEPTH): boolean {
  if (value === null || typeof value !== 'object') return false;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (depth > max) return true;
    const children = Array.isArray(v) ? v : Object.values(v as object);
    for (const c of children) if (c !== null && typeof c === 'object') stack.push([c, depth + 1]);
  }
  return false;
}

export function assertDepth(value: unknown): void {
  if (exceedsDepth(value)) throw new ApiError(400, 'too_deep', `body: nested deeper than ${MAX_JSON_DEPTH} levels`);
}

// JSON, and newline-delimited JSON (POST /events takes batches either way).
const isJson = (ct: string | undefined) => !!ct && /^application\/(([\w.+-]+\+)?json|x-ndjson|ndjson|jsonl|x-jsonlines)\s*(;|$)/i.test(ct);
const hasBody = (req: IncomingMessage) => (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0') || req.headers['transfer-encoding'] !== undefined;

/** Throws 415 unless a request that carries (or declares) a body declares it as JSON. */
export function assertJsonContentType(req: IncomingMessage): void {
  const ct = req.headers['content-type'];
  if ((ct !== undefined || hasBody(req)) && !isJson(ct)) {
    throw new ApiError(415, 'unsupported_media_type', 'content-type: must be application/json');
  }
}
