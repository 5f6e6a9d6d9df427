/**
 * A server for the HTTP part of bench:assign, run in its own process so autocannon (in the parent)
 * and the server compete for the two cores as a real client and server would.
 *   tsx bench/lib/http-target.ts bare            constant JSON after reading the body (the ceiling)
 *   tsx bench/lib/http-target.ts api [--sticky] [--no-metrics]  the real API process (snapshot
 *                                                  cache, zod, Redis), with or without its Prometheus counters
 * Prints "READY <url>" when listening; exits on SIGTERM.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startApi } from '../../api/main.js';
import { loadConfig } from '../../config.js';
import { createRedis } from '../../infra/redis.js';
import { publishSnapshot } from '../../infra/snapshot-store.js';
import { benchSnapshot } from './bench-snapshot.js';


const mode = process.argv[2];
if (mode === 'bare') {
  const out = '{"variant":"control"}';
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': out.length });
      res.end(out);
    });
  });
  server.listen(0, '127.0.0.1', () => console.log(`READY http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
} else if (mode === 'api') {
  const sticky = process.argv.includes('--sticky');
  const key = sticky ? 'bench-assign-sticky' : 'bench-assign';
  // A Redis database of its own, emptied first, so earlier runs' sticky records and queued
  // exposures (no ingest worker drains them here) do not slow this one down.
  const base = loadConfig();
  const url = new URL(base.redisUrl);
  url.pathname = '/15';
  const config = { ...base, redisUrl: url.toString(), metricsEnabled: !process.argv.includes('--no-metrics') };
  const redis = createRedis(config.redisUrl);
  await redis.flushdb();
  const snapshot = benchSnapshot(key, sticky);
  await publishSnapshot(redis, snapshot);
  redis.disconnect();
  const api = await startApi(config, 0);
  api.cache.offer(snapshot);
  console.log(`READY ${api.url} ${key}`);
  process.on('SIGTERM', () => void api.close().then(() => process.exit(0)));
} else {
  console.error('usage: http-target.ts bare | api [--sticky] [--no-metrics]');
  process.exit(2);
}
