/**
 * Lean HTTP servers for the assign bench until the API's `startAssignServer` is wired in:
 * `startLeanAssignServer` does what the route must do at minimum (parse JSON, assign from a
 * prepared snapshot, write JSON); `startBareServer` answers a constant, as the node:http ceiling.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { assignPrepared, compileSnapshot } from '../../domain/assignment/index.js';
import type { AllocationSnapshot } from '../../domain/types.js';

/** A running server and how to stop it. */
export interface BenchServer {
  url: string;
  close: () => Promise<void>;
}

/** Starts a server for the bench; the API's real `startAssignServer` should fit this shape. */
export type StartServer = () => Promise<BenchServer>;

function listen(server: Server): Promise<BenchServer> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}

/** POST /assign {unitId, context} → the assignment, from one in-memory prepared snapshot. */
export function startLeanAssignServer(snapshot: AllocationSnapshot): Promise<BenchServer> {
  const prep = compileSnapshot(snapshot);
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      try {
        const { unitId, context } = JSON.parse(body) as { unitId: string; context?: Record<string, string | number> };
        const out = JSON.stringify(assignPrepared(unitId, prep, context ?? {}));
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
        res.end(out);
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  return listen(server);
}

/** Constant JSON reply after reading the body: the ceiling for any node:http handler. */
export function startBareServer(): Promise<BenchServer> {
  const out = '{"variant":"control"}';
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': out.length });
      res.end(out);
    });
  });
  return listen(server);
}
