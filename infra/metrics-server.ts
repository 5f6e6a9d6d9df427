/** A bare HTTP server for the worker's GET /metrics (the API serves its own through Express). */
import { createServer, type Server } from 'node:http';
import { METRICS_CONTENT_TYPE, type Registry } from './metrics.js';

export async function startMetricsServer(registry: Registry, port: number, host = '127.0.0.1'): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url !== '/metrics' && !req.url?.startsWith('/metrics?'))) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE }).end(body),
      (e: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${e.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const addr = server.address();
  return {
    server,
    url: `http://${host}:${typeof addr === 'object' && addr ? addr.port : port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
