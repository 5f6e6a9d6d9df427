/**
 * The HTTP server: `POST /assign` is answered by a lean node:http handler (Express's per-request
 * cost would be most of the budget on the hot path); everything else goes to the Express app. Both
 * share one validation (zod schemas) and one error envelope.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type express from 'express';
import { ApiError, parseOrThrow, writeError } from './errors.js';
import type { AssignService } from './assign-service.js';
import { assignRequestSchema } from './schemas.js';
import { assertStorableText } from './storable-text.js';

const MAX_ASSIGN_BODY = 16 * 1024;

/** Assignment, like events, stays open to apps; API_TOKEN guards the control plane only. */
export function createApiServer(app: express.Express, assigner: AssignService): Server {
  return createServer((req, res) => {
    if (req.method === 'POST' && (req.url === '/assign' || req.url?.startsWith('/assign?'))) {
      void handleAssign(req, res, assigner);
      return;
    }
    app(req, res);
  });
}

async function handleAssign(req: IncomingMessage, res: ServerResponse, assigner: AssignService): Promise<void> {
  try {
    const ct = req.headers['content-type'];
    if (!ct || !ct.startsWith('application/json')) throw new ApiError(415, 'unsupported_media_type', 'content-type: must be application/json');
    const raw = await readBody(req);
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      throw new ApiError(400, 'invalid_json', 'body: not valid JSON');
    }
    assertStorableText(json);
    const result = await assigner.assign(parseOrThrow(assignRequestSchema, json));
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
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_ASSIGN_BODY) {
        reject(new ApiError(413, 'payload_too_large', `body: larger than ${MAX_ASSIGN_BODY} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
