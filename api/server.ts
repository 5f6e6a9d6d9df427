/**
 * The HTTP server: `POST /assign` is answered by a lean node:http handler (Express's per-request
 * cost would be most of the budget on the hot path); everything else goes to the Express app. Both
 * share one validation (zod schemas) and one error envelope.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type express from 'express';
import { assertDepth, assertJsonContentType } from './body-limits.js';
import { ApiError, parseOrThrow, writeError } from './errors.js';
import type { AssignService } from './assign-service.js';
import { type Authenticator, canTouchExperiment } from './auth.js';
import { assignRequestSchema } from './schemas.js';
import type { ApiMetrics } from '../infra/metrics.js';
import { assertStorableText } from './storable-text.js';

const MAX_ASSIGN_BODY = 16 * 1024;

/** Every route, /assign included, passes the Authenticator (keys, roles, scope, rate limits). */
export function createApiServer(app: express.Express, assigner: AssignService, auth: Authenticator, opts: { draining?: () => boolean; metrics?: ApiMetrics } = {}): Server {
  return createServer((req, res) => {
    // While shutting down, every response closes its connection, so keep-alive clients move on. It
    // is decided when the headers go out, not when the request arrived: a request already in flight
    // when draining began would otherwise leave a keep-alive socket that nothing closes until the
    // grace deadline (server.close() closes only the sockets idle at that moment).
    if (opts.draining) {
      const draining = opts.draining;
      const writeHead = res.writeHead;
      res.writeHead = function (this: ServerResponse, ...args: Parameters<ServerResponse['writeHead']>) {
        if (draining() && !this.headersSent) this.setHeader('connection', 'close');
        return writeHead.apply(this, args);
      } as ServerResponse['writeHead'];
    }
    if (req.method === 'POST' && (req.url === '/assign' || req.url?.startsWith('/assign?'))) {
      void handleAssign(req, res, assigner, auth, opts.metrics);
      return;
    }
    app(req, res);
  });
}

async function handleAssign(req: IncomingMessage, res: ServerResponse, assigner: AssignService, auth: Authenticator, metrics?: ApiMetrics): Promise<void> {
  const start = metrics ? process.hrtime.bigint() : 0n;
  let gone = false;
  res.on('close', () => (gone ||= !res.writableFinished));
  try {
    const principal = await auth.authorize(req);
    if (!req.headers['content-type']) throw new ApiError(415, 'unsupported_media_type', 'content-type: must be application/json');
    assertJsonContentType(req);
    const raw = await readBody(req);
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      throw new ApiError(400, 'invalid_json', 'body: not valid JSON');
    }
    assertDepth(json);
    assertStorableText(json);
    const request = parseOrThrow(assignRequestSchema, json);
    // A key scoped to other experiments gets the same answer as for an unknown one.
    if (!canTouchExperiment(principal, request.experiment)) throw new ApiError(404, 'unknown_experiment', `experiment: no running experiment '${request.experiment}'`);
    const result = await assigner.assign(request, { abandoned: () => gone });
    const body = JSON.stringify(result);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
    if (metrics) {
      metrics.assignment(request.experiment, result.variant, result.enrolled);
      metrics.request('POST', '/assign', 200, Number(process.hrtime.bigint() - start) / 1e9);
    }
  } catch (e) {
    writeError(res, e);
    if (metrics) metrics.request('POST', '/assign', res.statusCode, Number(process.hrtime.bigint() - start) / 1e9);
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    const declared = Number(req.headers['content-length'] ?? 0);
    const tooLarge = () => new ApiError(413, 'payload_too_large', `body: larger than ${MAX_ASSIGN_BODY} bytes`);
    if (declared > MAX_ASSIGN_BODY) {
      // Answer at once; Node discards the unread body before reusing the connection.
      reject(tooLarge());
      return;
    }
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > MAX_ASSIGN_BODY) {
        req.off('data', onData);
        req.resume();
        reject(tooLarge());
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    // One chunk (most bodies) is decoded in place, without the copy Buffer.concat makes.
    req.on('end', () => resolve(chunks.length === 1 && chunks[0] ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
