/**
 * A Postgres restart cuts the connections of clients that are checked out, not only idle ones: the
 * pg client then emits 'error' with nobody listening (the pool listens only while a client is
 * idle), which killed the worker mid-activity. Each client of createPool's pools has a listener.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { testConfig, waitFor } from '../helpers/services.js';

const config = testConfig();
const admin = new pg.Pool({ connectionString: config.databaseUrl, max: 1 });
afterAll(() => admin.end());

describe('createPool', () => {
  it('survives the server cutting a checked-out client, and queries again', async () => {
    const script = fileURLToPath(new URL('../fixtures/processes/checked-out-client.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, config.databaseUrl], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = once(child, 'exit');
    const pid = Number((await waitFor(async () => /pid (\d+)/.exec(out), { what: 'checked-out client' }))[1]);
    // What a restart does to every backend: terminate it while the client sits checked out.
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    await waitFor(async () => (await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount === 0, { what: 'backend gone' });
    child.stdin.end('go\n');
    const [code] = await exited;
    expect(out, out).toContain('ok 42');
    expect(code).toBe(0);
  });
});
