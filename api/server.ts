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
import { assertStorableText } from './storable-text.js';

const MAX_ASSIGN_BODY = 16 * 1024;

/** Every route, /assign included, passes the Authenticator (keys, roles, scope, rate limits). */
export function createApiServer(app: express.Express, assigner: AssignService, auth: Authenticator, opts: { draining?: () => boolean } = {}): Server {
  return createServer((req, res) => {
    // While shutting down, every response closes its connection, so keep-alive clients move on.
    if (opts.draining?.()) res.setHeader('connection', 'close');
    if (req.method === 'POST' && (req.url === '/assign' || req.url?.startsWith('/assign?'))) {
      void handleAssign(req, res, assigner, auth);
      return;
    }
    app(req, res);
  });
}

async function handleAssign(req: IncomingMessage, res: ServerResponse, assigner: AssignService, auth: Authenticator): Promise<void> {
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
    const input = parseOrThrow(assignRequestSchema, json);
    // A key scoped to other experiments gets the same answer as for an unknown one.
    if (!canTouchExperiment(principal, input.experiment)) throw new ApiError(404, 'unknown_experiment', `experiment: no running experiment '${input.experiment}'`);
    const result = await assigner.assign(input, { abandoned: () => gone });
    const body = JSON.stringify(result);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  } catch (e) {
    writeError(res, e);
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
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
