/**
 * Exposures that could not reach Redis, kept in local append-only files (one JSON record per
 * line, fdatasync'd per append) until it returns. Each process appends to its own file; a replay
 * claims files by renaming them, so two processes sharing the directory never replay one twice,
 * and files left by a process that died are replayed by the next one to start.
 */
import { closeSync, fdatasyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { ExposureRecord } from '../infra/queues.js';

const SPOOL = /^exposures-.+\.ndjson$/;
const CLAIMED = /^exposures-.+\.ndjson\.replaying-(\d+)$/;

export class ExposureSpool {
  private fd: number | null = null;
  private file: string;
  private seq = 0;
  /** True while any spool file may exist (set on append and when a start finds files). */
  pending: boolean;

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.file = this.nextFile();
    this.pending = readdirSync(dir).some((f) => SPOOL.test(f) || CLAIMED.test(f));
  }

  private nextFile(): string {
    return join(this.dir, `exposures-${process.pid}-${Date.now()}-${this.seq++}.ndjson`);
  }

  /** Appends records durably (returns after fdatasync). */
  append(records: ExposureRecord[]): void {
    if (!records.length) return;
    this.fd ??= openSync(this.file, 'a');
    writeSync(this.fd, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
    fdatasyncSync(this.fd);
    this.pending = true;
  }

  /**
   * Hands every spooled record to `send` (in chunks), deleting each file once sent. A file whose
   * send fails is put back for the next replay. Returns how many records were sent.
   */
  async replay(send: (records: ExposureRecord[]) => Promise<void>, chunk = 500): Promise<number> {
    // Rotate: appends from now on go to a fresh file, so the current one can be claimed.
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
      this.file = this.nextFile();
    }
    let sent = 0;
    let failed = false;
    for (const name of readdirSync(this.dir)) {
      const claimedBy = CLAIMED.exec(name)?.[1];
      if (!SPOOL.test(name) && !(claimedBy && !alive(Number(claimedBy)))) continue;
      const original = join(this.dir, claimedBy ? name.slice(0, name.lastIndexOf('.replaying-')) : name);
      const claimed = `${original}.replaying-${process.pid}`;
      try {
        renameSync(join(this.dir, name), claimed);
      } catch {
        continue; // another process claimed it first
      }
      const records: ExposureRecord[] = [];
      for (const line of readFileSync(claimed, 'utf8').split('\n')) {
        if (!line) continue;
        try {
          records.push(JSON.parse(line) as ExposureRecord);
        } catch {
          // A line torn by a crash mid-write: the rest of the file is still good.
          console.error(`[api] exposure spool ${claimed}: skipped a torn line`);
        }
      }
      try {
        for (let i = 0; i < records.length; i += chunk) await send(records.slice(i, i + chunk));
        unlinkSync(claimed);
        sent += records.length;
      } catch (e) {
        renameSync(claimed, original);
        failed = true;
        console.error(`[api] exposure spool replay failed; will retry: ${(e as Error).message}`);
        break;
      }
    }
    this.pending = failed || readdirSync(this.dir).some((f) => SPOOL.test(f));
    return sent;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

function alive(pid: number): boolean {
  if (pid === process.pid) return false; // our own claim from a replay that threw: take it back
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
