/**
 * A PostgreSQL cluster of the test's own, on a free port with the project's migrations applied, so
 * a fault test can crash and restart it (and hold locks in it) without touching the shared one.
 * As root, the cluster runs as the `postgres` user, as scripts/services.sh runs the shared one.
 */
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { applyMigrations } from '../../db/schema-engine.js';
import { freePort } from './private-redis.js';

const run = promisify(execFile);
const asRoot = process.getuid?.() === 0;

function pgBin(): string {
  const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(a) - Number(b));
  const v = versions.at(-1);
  if (!v) throw new Error('no PostgreSQL under /usr/lib/postgresql (run scripts/services.sh up)');
  return `/usr/lib/postgresql/${v}/bin`;
}

export class PrivatePostgres {
  private readonly dir = mkdtempSync(join(tmpdir(), 'expflow-pg-'));
  private readonly bin = pgBin();
  private constructor(readonly port: number) {}

  /** The URL of its one database, `expflow`. */
  get url(): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/expflow`;
  }

  static async start(): Promise<PrivatePostgres> {
    const pg = new PrivatePostgres(await freePort());
    if (asRoot) {
      const { stdout } = await run('id', ['-u', 'postgres']);
      const { stdout: gid } = await run('id', ['-g', 'postgres']);
      chownSync(pg.dir, Number(stdout.trim()), Number(gid.trim()));
    }
    await pg.exec('initdb', ['-D', join(pg.dir, 'data'), '--auth=trust', '-U', 'postgres', '-E', 'UTF8']);
    await pg.up();
    await pg.exec('createdb', ['-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres', 'expflow']);
    await applyMigrations(pg.url);
    return pg;
  }

  private exec(tool: string, args: string[]) {
    const cmd = asRoot ? ['runuser', ['-u', 'postgres', '--', join(this.bin, tool), ...args]] as const : [join(this.bin, tool), args] as const;
    return run(cmd[0], [...cmd[1]], { cwd: '/' });
  }

  /** Starts the server (again) on its port and waits until it accepts connections. */
  async up(): Promise<void> {
    await this.exec('pg_ctl', [
      '-D', join(this.dir, 'data'), '-l', join(this.dir, 'log'), '-w', '-t', '120',
      '-o', `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`,
      'start',
    ]);
  }

  /** Stops the server: `immediate` is a crash (no checkpoint, clients cut), `fast` a clean restart. */
  async down(mode: 'immediate' | 'fast' = 'immediate'): Promise<void> {
    await this.exec('pg_ctl', ['-D', join(this.dir, 'data'), '-m', mode, '-w', 'stop']);
  }

  private frozen: number[] = [];

  /** Freezes the postmaster and every backend (SIGSTOP): connections stay open, nothing answers. */
  freeze(): void {
    const pm = Number(readFileSync(join(this.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
    const children = (pid: number) => {
      const f = `/proc/${pid}/task/${pid}/children`;
      return existsSync(f) ? readFileSync(f, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number) : [];
    };
    this.frozen = [pm, ...children(pm)];
    for (const pid of this.frozen) process.kill(pid, 'SIGSTOP');
  }

  /** Lets a frozen server run again (SIGCONT). */
  thaw(): void {
    for (const pid of this.frozen) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // gone already
      }
    }
    this.frozen = [];
  }

  /** Stops the server and removes its files. */
  async destroy(): Promise<void> {
    this.thaw();
    await this.down('immediate').catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }
}
