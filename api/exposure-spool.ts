/**
 * Exposures that could not reach Redis, kept in local append-only files (one JSON record per
 * line, fdatasync'd per append) until it returns.
 *
 * Each process spools into a directory of its own under the spool directory
 * (`<host>-<pid>-<random>`), so API replicas sharing a volume never write, claim or replay each
 * other's files, and pids that repeat across containers (every container's API may be pid 1) do
 * not matter. A process keeps a lease on its directory (the mtime of `.lease`, renewed while it
 * runs). A directory whose lease lapsed (the process died) or was released (it stopped with files
 * left) is adopted by another process: renamed into the adopter's own directory (atomic, one
 * adopter wins) and replayed from there. Files of the earlier flat layout are adopted the same way.
 * A directory is only adopted when neither its lease nor any of its files changed for the lease
 * time (30 s by default): a live process renews its lease on every flush (~100 ms).
 */
import { closeSync, existsSync, fdatasyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import type { ExposureRecord } from '../infra/queues.js';

const SPOOL = /^exposures-.+\.ndjson$/;
/** The earlier flat layout's claimed files. */
const LEGACY_CLAIMED = /^exposures-.+\.ndjson\.replaying-\d+$/;
const LEASE = '.lease';
const ADOPTED = 'adopted-';

export interface SpoolOptions {
  /** This process's directory name (default `<host>-<pid>-<random>`). */
  instance?: string;
  /** A directory whose lease is older than this is adopted (default 30 s). */
  leaseMs?: number;
}

export class ExposureSpool {
  private fd: number | null = null;
  private file: string;
  private seq = 0;
  private readonly dir: string;
  private readonly leaseMs: number;
  private leaseRenewedAt = 0;
  /** True while any spool file this process should replay may exist. */
  pending: boolean;

  constructor(
    private readonly baseDir: string,
    opts: SpoolOptions = {},
  ) {
    const instance = opts.instance ?? `${hostname().replace(/[^\w.-]/g, '_')}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.dir = join(baseDir, instance);
    this.leaseMs = opts.leaseMs ?? 30_000;
    mkdirSync(this.dir, { recursive: true });
    this.heartbeat();
    this.file = this.nextFile();
    this.pending = this.ownFiles().length > 0 || this.adoptable().length > 0;
  }

  private nextFile(): string {
    return join(this.dir, `exposures-${Date.now()}-${this.seq++}.ndjson`);
  }

  /**
   * Renews this process's lease (at most every third of the lease) and notices directories of
   * processes that died since, so their exposures get replayed. Cheap enough for every flush.
   */
  heartbeat(now = Date.now()): void {
    if (now - this.leaseRenewedAt < this.leaseMs / 3) return;
    mkdirSync(this.dir, { recursive: true });
    const lease = join(this.dir, LEASE);
    try {
      utimesSync(lease, now / 1000, now / 1000);
    } catch {
      writeFileSync(lease, '');
    }
    if (this.leaseRenewedAt && this.adoptable(now).length) this.pending = true;
    this.leaseRenewedAt = now;
  }

  /** Appends records durably (returns after fdatasync). */
  append(records: ExposureRecord[]): void {
    if (!records.length) return;
    if (!existsSync(this.dir)) {
      // Adopted while this process stalled past its lease: start a fresh directory and file.
      if (this.fd !== null) closeSync(this.fd);
      this.fd = null;
      mkdirSync(this.dir, { recursive: true });
      this.file = this.nextFile();
      this.leaseRenewedAt = 0;
      this.heartbeat();
    }
    this.fd ??= openSync(this.file, 'a');
    writeSync(this.fd, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
    fdatasyncSync(this.fd);
    this.pending = true;
  }

  /** Other processes' directories (lease lapsed or released) and flat-layout files, ready to adopt. */
  private adoptable(now = Date.now()): string[] {
    const out: string[] = [];
    for (const entry of readdirSync(this.baseDir, { withFileTypes: true })) {
      const path = join(this.baseDir, entry.name);
      if (path === this.dir) continue;
      if (entry.isFile() && (SPOOL.test(entry.name) || LEGACY_CLAIMED.test(entry.name))) out.push(path);
      if (!entry.isDirectory()) continue;
      if (now - lastSignOfLife(path) > this.leaseMs) out.push(path);
    }
    return out;
  }

  /** Spool files in this process's directory and in the directories it adopted. */
  private ownFiles(): string[] {
    const out: string[] = [];
    if (!existsSync(this.dir)) return out;
    for (const entry of readdirSync(this.dir, { withFileTypes: true })) {
      const adoptedFile = entry.name.startsWith(ADOPTED) && (SPOOL.test(entry.name.slice(ADOPTED.length)) || LEGACY_CLAIMED.test(entry.name.slice(ADOPTED.length)));
      if (entry.isFile() && (SPOOL.test(entry.name) || adoptedFile)) out.push(join(this.dir, entry.name));
      if (entry.isDirectory() && entry.name.startsWith(ADOPTED)) {
        for (const f of readdirSync(join(this.dir, entry.name))) {
          if (SPOOL.test(f) || LEGACY_CLAIMED.test(f)) out.push(join(this.dir, entry.name, f));
        }
      }
    }
    return out;
  }

  /**
   * Hands every spooled record (this process's and what it adopts) to `send` in chunks, deleting
   * each file once sent. On a failed send the files stay for the next replay. Returns how many
   * records were sent.
   */
  async replay(send: (records: ExposureRecord[]) => Promise<void>, chunk = 500): Promise<number> {
    // Rotate: appends from now on go to a fresh file, so the current one can be replayed.
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
      this.file = this.nextFile();
    }
    for (const path of this.adoptable()) {
      try {
        // Atomic on one filesystem: of several processes adopting at once, one wins.
        renameSync(path, join(this.dir, `${ADOPTED}${basename(path)}`));
      } catch {
        continue;
      }
    }
    let sent = 0;
    let failed = false;
    for (const path of this.ownFiles()) {
      const records: ExposureRecord[] = [];
      for (const line of readFileSync(path, 'utf8').split('\n')) {
        if (!line) continue;
        try {
          records.push(JSON.parse(line) as ExposureRecord);
        } catch {
          // A line torn by a crash mid-write: the rest of the file is still good.
          console.error(`[api] exposure spool ${path}: skipped a torn line`);
        }
      }
      try {
        for (let i = 0; i < records.length; i += chunk) await send(records.slice(i, i + chunk));
        unlinkSync(path);
        sent += records.length;
      } catch (e) {
        failed = true;
        console.error(`[api] exposure spool replay failed; will retry: ${(e as Error).message}`);
        break;
      }
    }
    if (!failed) {
      // Adopted directories are empty now (their lease file aside).
      for (const f of readdirSync(this.dir)) if (f.startsWith(ADOPTED)) rmSync(join(this.dir, f), { recursive: true, force: true });
    }
    this.pending = failed || this.ownFiles().length > 0;
    return sent;
  }

  /**
   * Stops appending. With nothing left the directory goes; otherwise its lease is released, so
   * another process adopts the files at once instead of after the lease would have lapsed.
   */
  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    const left = this.ownFiles().length > 0;
    if (left) rmSync(join(this.dir, LEASE), { force: true });
    else rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * When the process owning a directory last showed it was alive: its lease or its newest append.
 * No lease means it was released at a clean stop: adopt at once.
 */
function lastSignOfLife(dir: string): number {
  if (!existsSync(join(dir, LEASE))) return -Infinity;
  let latest = -Infinity;
  for (const f of readdirSync(dir)) {
    try {
      latest = Math.max(latest, statSync(join(dir, f)).mtimeMs);
    } catch {
      // Removed meanwhile.
    }
  }
  return latest;
}
