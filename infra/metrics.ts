/**
 * Prometheus metrics (prom-client). Labels stay low-cardinality: experiment key, variant, route
 * template, activity, outcome, queue — never a unit id or raw URL. The API and the worker each keep
 * their own registry and serve it on GET /metrics. Hot-path counters cache their labelled child, so
 * counting an assignment is one Map lookup and one add.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type LabelValues } from 'prom-client';
import { at } from '../domain/at.js';

export type { Registry };
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Seconds buckets for request latency: the assignment path answers in well under a millisecond. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/**
 * Hot-path metrics kept in plain maps and formatted only when scraped: prom-client hashes the
 * label object on every call (~1 µs), which POST /assign would pay per request. Registered as
 * custom metrics (anything with get()) so they come out with the rest of the registry.
 */
class HotCounter {
  readonly type = 'counter';
  readonly aggregator = 'sum';
  private readonly entries = new Map<string, { labels: Record<string, string>; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  /** `key` identifies the label values; `labels` builds them on first use only. */
  inc(key: string, labels: () => Record<string, string>, n = 1): void {
    let e = this.entries.get(key);
    if (!e) {
      e = { labels: labels(), value: 0 };
      this.entries.set(key, e);
    }
    e.value += n;
  }
  get() {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: [...this.entries.values()].map((e) => ({ labels: e.labels, value: e.value })) };
  }
  reset(): void {
    this.entries.clear();
  }
}

class HotHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly entries = new Map<string, { labels: Record<string, string>; counts: Float64Array; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
  ) {}
  observe(key: string, labels: () => Record<string, string>, v: number): void {
    let e = this.entries.get(key);
    if (!e) {
      e = { labels: labels(), counts: new Float64Array(this.buckets.length), sum: 0, count: 0 };
      this.entries.set(key, e);
    }
    const i = this.buckets.findIndex((b) => v <= b);
    if (i >= 0) e.counts[i] = at(e.counts, i, 'bucket counts') + 1;
    e.sum += v;
    e.count++;
  }
  get() {
    const values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = [];
    for (const e of this.entries.values()) {
      let cum = 0;
      this.buckets.forEach((b, i) => {
        cum += at(e.counts, i, 'bucket counts');
        values.push({ metricName: `${this.name}_bucket`, labels: { ...e.labels, le: b }, value: cum });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { ...e.labels, le: '+Inf' }, value: e.count });
      values.push({ metricName: `${this.name}_sum`, labels: e.labels, value: e.sum });
      values.push({ metricName: `${this.name}_count`, labels: e.labels, value: e.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
  reset(): void {
    this.entries.clear();
  }
}

/** A counter whose labelled children are cached by a joined key (labels in declaration order). */
function cachedCounter<L extends string>(c: Counter<L>, labels: readonly L[]) {
  const children = new Map<string, { inc(n?: number): void }>();
  return (values: readonly string[], n = 1) => {
    const k = values.join('\u0000');
    let child = children.get(k);
    if (!child) {
      const lv = Object.fromEntries(labels.map((l, i) => [l, values[i] ?? ''])) as LabelValues<L>;
      child = c.labels(lv);
      children.set(k, child);
    }
    child.inc(n);
  };
}

export interface ApiMetrics {
  registry: Registry;
  /** One answered POST /assign. */
  assignment(experiment: string, variant: string, enrolled: boolean): void;
  /** Events accepted by POST /events, per experiment. */
  eventsAccepted(experiment: string, n: number): void;
  /** One HTTP request: route is the Express route template (or "/assign"). */
  request(method: string, route: string, status: number, seconds: number): void;
}

export function createApiMetrics(opts: {
  snapshots: () => Array<{ experimentKey: string; version: number; createdAt: string }>;
  /** Experiments whose stored snapshot does not parse (the last good one is still served). */
  invalidSnapshots?: () => Array<{ experimentKey: string }>;
  now?: () => number;
}): ApiMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'expflow_api_' });
  const assignments = new HotCounter('expflow_assignments_total', 'Assignments answered by POST /assign');
  const events = new Counter({ name: 'expflow_events_accepted_total', help: 'Outcome events accepted by POST /events (queued durably)', labelNames: ['experiment'] as const, registers: [registry] });
  const latency = new HotHistogram('expflow_http_request_duration_seconds', 'API request latency', LATENCY_BUCKETS);
  registry.registerMetric(assignments as never);
  registry.registerMetric(latency as never);
  const now = opts.now ?? Date.now;
  new Gauge({
    name: 'expflow_snapshot_version',
    help: 'Allocation snapshot version served by this API process',
    labelNames: ['experiment'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const s of opts.snapshots()) this.set({ experiment: s.experimentKey }, s.version);
    },
  });
  new Gauge({
    name: 'expflow_snapshot_age_seconds',
    help: 'Age of the allocation snapshot served by this API process',
    labelNames: ['experiment'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const s of opts.snapshots()) this.set({ experiment: s.experimentKey }, Math.max(0, (now() - Date.parse(s.createdAt)) / 1000));
    },
  });
  new Gauge({
    name: 'expflow_snapshot_invalid',
    help: 'Experiments whose stored allocation snapshot does not parse (this API process keeps serving the last good one)',
    labelNames: ['experiment'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const s of opts.invalidSnapshots?.() ?? []) this.set({ experiment: s.experimentKey }, 1);
    },
  });
  const countEvents = cachedCounter(events, ['experiment']);
  return {
    registry,
    assignment: (experiment, variant, enrolled) =>
      assignments.inc(`${experiment}\u0000${variant}\u0000${enrolled ? 1 : 0}`, () => ({ experiment, variant, enrolled: enrolled ? 'true' : 'false' })),
    eventsAccepted: (experiment, n) => countEvents([experiment], n),
    request: (method, route, status, seconds) => latency.observe(`${method}\u0000${route}\u0000${status}`, () => ({ method, route, status: String(status) }), seconds),
  };
}

export interface WorkerMetrics {
  registry: Registry;
  /**
   * One ingested batch: rows written (duplicates excluded) and the seconds from being queued to
   * being written. Items are counted by experiment (and variant, for exposures) when the whole
   * batch was new, which is the normal case; a batch with duplicates counts only its total.
   */
  /** `exposuresWritten`: the exposures inserted per experiment and variant, when the writer says. */
  ingested(batch: { kind: 'events' | 'exposures'; items: ReadonlyArray<{ experiment?: string; variant?: string }> }, written: number, lagSeconds: number, exposuresWritten?: ReadonlyArray<{ experiment: string; variant: string; n: number }>): void;
  activity(activity: string, outcome: 'ok' | 'error', seconds: number): void;
  decision(outcome: string): void;
  notification(status: 'delivered' | 'retrying' | 'failed', kind: string): void;
  alert(kind: string): void;
}

export function createWorkerMetrics(opts: { queueDepth: () => Promise<Array<{ queue: string; state: string; count: number }>> }): WorkerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'expflow_worker_' });
  const rows = new Counter({ name: 'expflow_ingested_rows_total', help: 'Rows written by the ingest worker (duplicates excluded)', labelNames: ['kind'] as const, registers: [registry] });
  const duplicates = new Counter({ name: 'expflow_ingest_duplicates_total', help: 'Queued items already stored (resent or retried)', labelNames: ['kind'] as const, registers: [registry] });
  const exposures = new Counter({ name: 'expflow_exposures_written_total', help: 'Exposures (first assignments) written to Postgres, by experiment and variant', labelNames: ['experiment', 'variant'] as const, registers: [registry] });
  const events = new Counter({ name: 'expflow_events_written_total', help: 'Outcome events written to Postgres, by experiment', labelNames: ['experiment'] as const, registers: [registry] });
  const lag = new Histogram({ name: 'expflow_ingest_lag_seconds', help: 'Time from a batch being queued to being written', buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900], registers: [registry] });
  const activity = new Histogram({ name: 'expflow_activity_duration_seconds', help: 'Experiment cycle activity duration', labelNames: ['activity', 'outcome'] as const, buckets: DURATION_BUCKETS, registers: [registry] });
  const decisions = new Counter({ name: 'expflow_decisions_total', help: 'Cycle decisions made, by outcome', labelNames: ['outcome'] as const, registers: [registry] });
  const notifications = new Counter({ name: 'expflow_notifications_total', help: 'Notification delivery attempts, by result', labelNames: ['status', 'kind'] as const, registers: [registry] });
  const alerts = new Counter({ name: 'expflow_alerts_fired_total', help: 'Alerts raised by the alert scan', labelNames: ['kind'] as const, registers: [registry] });
  new Gauge({
    name: 'expflow_queue_jobs',
    help: 'Jobs in the BullMQ queues, by state',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const q of await opts.queueDepth().catch(() => [])) this.set({ queue: q.queue, state: q.state }, q.count);
    },
  });
  return {
    registry,
    ingested(batch, written, lagSeconds, exposuresWritten) {
      rows.inc({ kind: batch.kind }, written);
      if (written < batch.items.length) duplicates.inc({ kind: batch.kind }, batch.items.length - written);
      lag.observe(Math.max(0, lagSeconds));
      // Exact per-arm counts from the writer: a batch holding a repeat still counts its new rows.
      if (batch.kind === 'exposures' && exposuresWritten) {
        for (const e of exposuresWritten) exposures.inc({ experiment: e.experiment, variant: e.variant }, e.n);
        return;
      }
      if (written !== batch.items.length) return;
      const counts = new Map<string, number>();
      for (const i of batch.items) {
        const k = batch.kind === 'exposures' ? `${i.experiment ?? ''}\u0000${i.variant ?? ''}` : (i.experiment ?? '');
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
      for (const [k, n] of counts) {
        if (batch.kind === 'exposures') {
          const [experiment = '', variant = ''] = k.split('\u0000');
          exposures.inc({ experiment, variant }, n);
        } else events.inc({ experiment: k }, n);
      }
    },
    activity: (name, outcome, s) => activity.observe({ activity: name, outcome }, s),
    decision: (outcome) => decisions.inc({ outcome }),
    notification: (status, kind) => notifications.inc({ status, kind }),
    alert: (kind) => alerts.inc({ kind }),
  };
}
