/**
 * A redis-server of the test's own on a free port, so a test can stop, restart or freeze it
 * without touching the shared one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

async function portOpen(port: number): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

/** Every private redis-server still running: killed when the test process exits, whatever its hooks did. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

export class PrivateRedis {
  private proc: ChildProcess | null = null;
  private readonly dir = mkdtempSync(join(tmpdir(), 'expflow-redis-'));
  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<PrivateRedis> {
    const r = new PrivateRedis(await freePort());
    await r.up();
    return r;
  }

  /**
   * Starts the server (again) on the same port, with append-only persistence in its own dir. A
   * server still running is kept: a second one could not bind the port, and replacing the handle
   * with it lost the first, which then outlived the test run.
   */
  async up(): Promise<void> {
    if (this.proc) return;
    const proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', 'yes', '--save', ''], { stdio: 'ignore' });
    this.proc = proc;
    running.add(proc);
    const exited = once(proc, 'exit').then(() => {
      running.delete(proc);
      if (this.proc === proc) this.proc = null;
    });
    for (let i = 0; i < 200 && !(await portOpen(this.port)); i++) {
      if (proc.exitCode !== null || proc.signalCode !== null) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!(await portOpen(this.port))) {
      proc.kill('SIGKILL');
      await exited;
      throw new Error(`redis-server did not open port ${this.port}`);
    }
  }

  /** Stops the server abruptly (SIGKILL, which also ends a frozen one): what a crash looks like to clients. */
  async down(): Promise<void> {
    const p = this.proc;
    if (!p) return;
    if (p.exitCode === null && p.signalCode === null) {
      p.kill('SIGKILL');
      await once(p, 'exit');
    }
    this.proc = null;
  }

  /** Freezes (SIGSTOP) or thaws (SIGCONT) the server: connections stay open but nothing answers. */
  freeze(): void {
    this.proc?.kill('SIGSTOP');
  }
  thaw(): void {
    this.proc?.kill('SIGCONT');
  }
}
