/**
 * A Temporal dev server of the test's own (`temporal server start-dev`) on a free port, its state in
 * a SQLite file that outlives the process, so a fault test can crash and restart it without touching
 * the shared one. The search attributes are expflow's, as scripts/services.sh registers them.
 */
import { Connection } from '@temporalio/client';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './services.js';
import { freePort } from './private-redis.js';

const SEARCH_ATTRIBUTES = ['ExperimentKey', 'ExperimentStatus', 'ExperimentKind', 'Entity', 'DecisionOutcome'];

export class PrivateTemporal {
  private proc: ChildProcess | null = null;
  private log = '';
  private readonly dir = mkdtempSync(join(tmpdir(), 'expflow-temporal-'));
  private constructor(
    private readonly cli: string,
    readonly port: number,
  ) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** What the server wrote (its last start), for failure messages. */
  output(): string {
    return this.log;
  }

  static async start(cli: string): Promise<PrivateTemporal> {
    const t = new PrivateTemporal(cli, await freePort());
    await t.up();
    return t;
  }

  /** Starts the server (again) on the same port and database file; resolves once the namespace answers. */
  async up(): Promise<void> {
    const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(this.port), '--headless', '--db-filename', join(this.dir, 'temporal.db'), '--log-level', 'warn'];
    for (const a of SEARCH_ATTRIBUTES) args.push('--search-attribute', `${a}=Keyword`);
    this.log = '';
    const proc = spawn(this.cli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout?.on('data', (d: Buffer) => (this.log += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (this.log += d.toString()));
    this.proc = proc;
    await waitFor(
      async () => {
        if (proc.exitCode !== null) throw new Error(`temporal dev server exited (${proc.exitCode}):\n${this.log}`);
        const connection = await Connection.connect({ address: this.address, connectTimeout: 1000 }).catch(() => null);
        if (!connection) return false;
        try {
          return !!(await connection.workflowService.describeNamespace({ namespace: 'default' }).catch(() => null));
        } finally {
          await connection.close();
        }
      },
      { what: `temporal dev server on :${this.port}`, timeoutMs: 60_000, intervalMs: 250 },
    );
  }

  /** Stops the server abruptly (SIGKILL): what a crash looks like to its clients. */
  async crash(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    p.kill('SIGKILL');
    await once(p, 'exit');
    this.proc = null;
  }

  /** Freezes the server (SIGSTOP): it keeps its port and connections but answers nothing. */
  freeze(): void {
    this.proc?.kill('SIGSTOP');
  }

  /** Lets a frozen server run again (SIGCONT). */
  thaw(): void {
    this.proc?.kill('SIGCONT');
  }

  async destroy(): Promise<void> {
    this.thaw();
    await this.crash();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
