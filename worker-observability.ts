/**
 * The worker's metrics and alert scan, kept out of worker.ts: activity timing and decision counts
 * (a wrapper around the activity functions), ingest and notification counters, queue depth, the
 * /metrics server and the alert-scan timer.
 */
import { alertScanLoopDeps, runAlertScan, type AlertScanDeps } from './activities/alert-scan.js';
import { createWorkerMetrics, type WorkerMetrics } from './infra/metrics.js';
import { startMetricsServer } from './infra/metrics-server.js';
import type { Queues } from './infra/queues.js';

/** Wraps every activity function to time it; the decide step's outcome is counted too. */
export function instrumentActivities<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T, metrics: WorkerMetrics): T {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) {
    out[name] = async (...args: never[]) => {
      const start = process.hrtime.bigint();
      const seconds = () => Number(process.hrtime.bigint() - start) / 1e9;
      try {
        const result = await fn(...args);
        metrics.activity(name, 'ok', seconds());
        if (name === 'decide') metrics.decision(outcomeOf(result));
        if (name === 'runCycle') metrics.decision(outcomeOf((result as { decision?: unknown } | null)?.decision));
        return result;
      } catch (e) {
        metrics.activity(name, 'error', seconds());
        throw e;
      }
    };
  }
  return out as T;
}

function outcomeOf(decision: unknown): string {
  return String((decision as { outcome?: unknown } | null)?.outcome ?? 'unknown');
}

/** Rows written by an ingest batch: the count, or `written` of a richer result. */
export function writtenOf(result: number | { written: number }): number {
  return typeof result === 'number' ? result : result.written;
}

async function queueDepth(queues: Queues): Promise<Array<{ queue: string; state: string; count: number }>> {
  const out: Array<{ queue: string; state: string; count: number }> = [];
  for (const q of [queues.events, queues.notifications]) {
    const name = q.name;
    const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'failed');
    for (const [state, count] of Object.entries(counts)) out.push({ queue: name, state, count });
  }
  return out;
}

export interface WorkerObservability {
  metrics: WorkerMetrics;
  metricsUrl: string | null;
  close(): Promise<void>;
}

/** Starts /metrics on `port` (null: none) and the alert scan every `scanIntervalMs`. */
export async function startWorkerObservability(opts: {
  queues: Queues;
  port: number | null;
  host: string;
  scan: Omit<AlertScanDeps, 'onFired'>;
  scanIntervalMs: number;
}): Promise<WorkerObservability> {
  const metrics = createWorkerMetrics({ queueDepth: () => queueDepth(opts.queues) });
  const server = opts.port === null ? null : await startMetricsServer(metrics.registry, opts.port, opts.host);
  let running: Promise<unknown> | null = null;
  const scanDeps = alertScanLoopDeps(opts.scan, metrics);
  const timer = setInterval(() => {
    if (running) return;
    running = runAlertScan(scanDeps)
      .catch((e: Error) => console.error(`[worker] alert scan failed: ${e.message}`))
      .finally(() => (running = null));
  }, opts.scanIntervalMs);
  timer.unref();
  return {
    metrics,
    metricsUrl: server?.url ?? null,
    async close() {
      clearInterval(timer);
      await running;
      await server?.close();
    },
  };
}
