/**
 * Container health check (the Docker image's HEALTHCHECK; `node dist/scripts/healthcheck.js`).
 *   api:    GET http://127.0.0.1:$API_PORT/health answers 200.
 *   worker: the services a worker needs (Temporal, PostgreSQL, Redis) accept connections; the worker
 *           process itself exits on a fatal error and the container restarts.
 * The role is the first argument, else $EXPFLOW_ROLE, else api. Exit 0 healthy, 1 not.
 */
import { connect } from 'node:net';

const role = process.argv[2] ?? process.env.EXPFLOW_ROLE ?? 'api';

function reachable(hostPort: string): Promise<boolean> {
  const [host, port] = hostPort.split(':');
  return new Promise((resolve) => {
    const socket = connect({ host, port: Number(port), timeout: 3000 }, () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
    socket.on('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

const hostPortOf = (url: string | undefined, fallbackPort: string) => {
  if (!url) return null;
  const u = new URL(url);
  return `${u.hostname}:${u.port || fallbackPort}`;
};

async function check(): Promise<string | null> {
  if (role === 'api') {
    const res = await fetch(`http://127.0.0.1:${process.env.API_PORT ?? '3000'}/health`, { signal: AbortSignal.timeout(3000) }).catch((e: Error) => e);
    return res instanceof Error ? `api: ${res.message}` : res.ok ? null : `api: /health answered ${res.status}`;
  }
  const targets = [process.env.TEMPORAL_ADDRESS ?? null, hostPortOf(process.env.DATABASE_URL, '5432'), hostPortOf(process.env.REDIS_URL, '6379')];
  for (const t of targets) if (t && !(await reachable(t))) return `worker: ${t} is not reachable`;
  return null;
}

const problem = await check();
if (problem) {
  console.error(problem);
  process.exitCode = 1;
}
