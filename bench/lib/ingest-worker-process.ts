/**
 * The ingest worker alone (no Temporal worker), in its own process for bench:ingest, so the API,
 * the worker and the load generator compete for the cores as separate processes do in production.
 * Prints "READY" once consuming; exits on SIGTERM.
 */
import { loadConfig } from '../../config.js';
import { createIngestWorker } from '../../infra/ingest-worker.js';
import { createPool } from '../../infra/pg.js';

const config = loadConfig();
const concurrency = Number(process.env.INGEST_CONCURRENCY ?? 8);
const pool = createPool(config.databaseUrl, concurrency + 2);
const worker = createIngestWorker(config, pool, { concurrency });
worker.on('failed', (job, err) => console.error(`[bench-worker] job ${job?.id} failed: ${err.message}`));
await worker.waitUntilReady();
console.log('READY');
process.on('SIGTERM', async () => {
  await worker.close();
  await pool.end();
  process.exit(0);
});
