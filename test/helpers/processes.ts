/**
 * The worker and API as child processes (`tsx worker.ts`, `tsx api/main.ts`) on the test services,
 * so fault tests can SIGKILL or SIGTERM them and watch them die or survive.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../config.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Child {
  proc: ChildProcess;
  /** Everything the process wrote, stdout and stderr interleaved. */
  output(): string;
  /** Resolves with the exit code (or signal) once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
}

function configEnv(config: Config): Record<string, string> {
  return {
    DATABASE_URL: config.databaseUrl,
    REDIS_URL: config.redisUrl,
    TEMPORAL_ADDRESS: config.temporalAddress,
    TEMPORAL_NAMESPACE: config.temporalNamespace,
    TASK_QUEUE: config.taskQueue,
    ANALYTICS_TASK_QUEUE: config.analyticsTaskQueue,
    API_HOST: config.apiHost,
    EVENTS_QUEUE: config.events.queue,
    EVENTS_LOCK_SECONDS: String(config.events.lockMs / 1000),
    NOTIFICATIONS_QUEUE: config.notificationsQueue,
    NOTIFICATIONS_LOCK_SECONDS: String(config.notificationsLockMs / 1000),
    ...(config.webhookSecret ? { EXPFLOW_WEBHOOK_SECRET: config.webhookSecret } : {}),
    EXPOSURE_SPOOL_DIR: config.exposureSpoolDir,
    UNIT_ID_KEY: config.unitIdKey,
    // As testConfig: no maintenance schedule (it would outlive the suite's task queue), no timed alert scan.
    STORAGE_MAINTENANCE_SCHEDULE: config.maintenanceSchedule ? 'on' : 'off',
    ALERT_SCAN_INTERVAL_SECONDS: String(Math.max(1, Math.min(3600, Math.round(config.alerts.scanIntervalMs / 1000)))),
  };
}

function spawnTsx(script: string, env: Record<string, string>, ready: RegExp): Promise<{ child: Child; match: RegExpMatchArray }> {
  // `node --import tsx`, not the tsx CLI: the CLI runs the script in a grandchild that a SIGKILL
  // of the CLI would orphan.
  const proc = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exited = once(proc, 'exit').then(([code, signal]) => (exitInfo = { code, signal }));
  const child: Child = { proc, output: () => out, exited, alive: () => exitInfo === null };
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) resolve({ child, match: m });
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    void exited.then((e) => reject(new Error(`${script} exited (${e.code ?? e.signal}) before ready:\n${out}`)));
  });
}

export async function spawnWorker(config: Config, env: Record<string, string> = {}): Promise<Child> {
  return (await spawnTsx('worker.ts', { ...configEnv(config), WORKER_METRICS_PORT: '0', ...env }, /\[worker\] running/)).child;
}

export async function spawnApi(config: Config, env: Record<string, string> = {}): Promise<{ child: Child; url: string }> {
  const { child, match } = await spawnTsx('api/main.ts', { ...configEnv(config), API_PORT: '0', ...env }, /\[api\] listening on (http:\/\/\S+)/);
  return { child, url: match[1]! };
}

/** SIGKILLs the process if it is still running and waits for it to be gone. */
export async function kill(child: Child | undefined, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (!child || !child.alive()) return;
  child.proc.kill(signal);
  await child.exited;
}
