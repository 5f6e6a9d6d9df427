/**
 * Process configuration, parsed once. Environment variables win; otherwise the values written by
 * `scripts/services.sh up` to .data/env point at the project's local services.
 */
import { at } from './domain/at.js';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { parseCidr, parseHostPattern, parsePortRange, type Cidr, type PortRange } from './domain/context/source-url-policy.js';
import { DEFAULT_CONTEXT_POLICY, contextPolicySchema, type ContextPolicy } from './domain/privacy/context-policy.js';
import type { SourceAccess } from './infra/source-fetch.js';

const ROOT = dirname(fileURLToPath(import.meta.url));

const schema = z.object({
  DATABASE_URL: z.string().url(),
  REDIS_URL: z.string().url(),
  TEMPORAL_ADDRESS: z.string().min(3),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_UI_URL: z.string().url().default('http://127.0.0.1:8233'),
  TEMPORAL_CLI: z.string().optional(),
  TASK_QUEUE: z.string().default('expflow'),
  ANALYTICS_TASK_QUEUE: z.string().optional(),
  API_PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  API_HOST: z.string().default('127.0.0.1'),
  API_TOKEN: z.string().optional(),
  METRICS_ENABLED: z.enum(['true', 'false']).default('true'),
  WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  /** Temporal worker tuning; unset, the SDK's defaults (docs/scaling.md has what was measured). */
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: z.coerce.number().int().min(2).max(10_000).optional(),
  WORKER_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().min(1).max(10_000).optional(),
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).max(1_000_000).optional(),
  WORKER_WORKFLOW_TASK_POLLERS: z.coerce.number().int().min(2).max(1000).optional(),
  WORKER_ACTIVITY_TASK_POLLERS: z.coerce.number().int().min(1).max(1000).optional(),
  WORKER_METRICS_HOST: z.string().default('127.0.0.1'),
  ALERT_WEBHOOK_URL: z.string().url().optional(),
  /** A report whose cells are older than this refreshes them in the background (answering with them meanwhile). */
  REPORT_REFRESH_SECONDS: z.coerce.number().min(0).max(86_400).default(30),
  ALERT_SCAN_INTERVAL_SECONDS: z.coerce.number().min(1).max(3600).default(30),
  ALERT_INGEST_LAG_SECONDS: z.coerce.number().min(1).default(300),
  ALERT_SNAPSHOT_STALE_CYCLES: z.coerce.number().min(1).default(3),
  ALERT_WEBHOOK_FAILURES: z.coerce.number().int().min(1).default(3),
  EVALUATION_DATA_DIR: z.string().min(1).optional(),
  /** Comma-separated browser origins allowed to call state-changing routes (e.g. a dashboard). */
  ALLOWED_ORIGINS: z.string().optional(),
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),
  /** Longest wait for Redis on an /assign (stickiness, stratum counters); past it the unit gets its hash assignment, marked degraded. */
  STICKY_TIMEOUT_MS: z.coerce.number().int().min(1).max(60_000).default(250),
  /** How long a steering update (run-cycle, override, conclude…) waits for a worker to answer. */
  STEERING_TIMEOUT_SECONDS: z.coerce.number().min(1).max(3600).default(120),
  /** How long the API waits for the Temporal server on any other call (start, signal, schedules) before a 503. */
  TEMPORAL_RPC_TIMEOUT_SECONDS: z.coerce.number().min(1).max(600).default(10),
  /** HMAC-SHA256 key signing webhook notifications (header x-expflow-signature). */
  EXPFLOW_WEBHOOK_SECRET: z.string().min(16).optional(),
  /** SMTP server for e-mail notifications, e.g. smtp://user:pass@mail.example.com:587. */
  SMTP_URL: z.string().url().optional(),
  SMTP_FROM: z.string().default('expflow <expflow@localhost>'),
  /** Most events one POST /events may carry. */
  EVENTS_MAX_BATCH: z.coerce.number().int().min(1).max(100_000).default(1000),
  /** Queued jobs (batches) past which POST /events answers 429 with Retry-After. */
  EVENTS_MAX_QUEUE_DEPTH: z.coerce.number().int().min(1).default(1000),
  EVENTS_QUEUE: z.string().min(1).default('expflow-events'),
  /** How long an ingest worker holds a batch before another may take it over (BullMQ lock and stall check). */
  EVENTS_LOCK_SECONDS: z.coerce.number().min(1).max(3600).default(30),
  /** The BullMQ queue of webhook, Slack and e-mail deliveries (the API and every worker share it). */
  NOTIFICATIONS_QUEUE: z.string().min(1).default('expflow-notifications'),
  /**
   * A delivery's lock: a worker that dies mid-delivery leaves the job to another worker after about
   * this long, and twice this at most (BullMQ's lock and stalled-job check; its default 30 s).
   */
  NOTIFICATIONS_LOCK_SECONDS: z.coerce.number().min(1).max(600).default(30),
  /** Days of events kept: older daily partitions are dropped and older timestamps are refused. */
  EVENT_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  /** Days of context signal observations kept (each series keeps its newest one regardless). */
  CONTEXT_SIGNAL_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  /** An eventId seen again within this many hours is not counted again. */
  EVENT_DEDUPE_WINDOW_HOURS: z.coerce.number().min(1).max(24 * 3650).default(168),
  /** Where exposures go while Redis is unreachable (append-only files, replayed when it returns). */
  EXPOSURE_SPOOL_DIR: z.string().min(1).default(join(ROOT, '.data', 'spool')),
  /** How often each API process sends its buffered exposures to the queue (also sent at 500). */
  EXPOSURE_FLUSH_INTERVAL_MS: z.coerce.number().int().min(10).max(600_000).default(100),
  /** "off" keeps the worker from creating the storage maintenance schedule (tests, or a script owns it). */
  STORAGE_MAINTENANCE_SCHEDULE: z.enum(['on', 'off']).default('on'),
  NODE_ENV: z.string().optional(),
  /** HMAC-SHA256 key that pseudonymises unit ids before Redis or Postgres see them. */
  UNIT_ID_KEY: z.string().min(16, 'use at least 16 characters').optional(),
  /** The key before a rotation: sticky records under it are honoured (and moved), and deletion also removes what was stored under it. */
  UNIT_ID_KEY_PREVIOUS: z.string().min(16, 'use at least 16 characters').optional(),
  /** JSON classification of context attributes (allowed, coarsened, consent); default: raw location is consent-only. */
  CONTEXT_POLICY: z.string().optional(),
  /** Schemes pull sources may use: "https", "http" or both (default both). */
  CONTEXT_SOURCE_SCHEMES: commaList((t) => (t === 'http' || t === 'https' ? t : null), 'use http and/or https').default(['https', 'http']),
  /** Hosts pull sources may fetch (`feeds.example.com`, `*.example.com`, an IP); unset: any host with public addresses. */
  CONTEXT_SOURCE_ALLOWED_HOSTS: commaList(parseHostPattern, 'use host names, *.domain patterns or IP addresses').default([]),
  /** Non-public networks pull sources may reach anyway (CIDRs, e.g. 10.20.0.0/16 or 127.0.0.1/32); default none. */
  CONTEXT_SOURCE_PRIVATE_NETWORKS: commaList(parseCidr, 'use CIDRs such as 10.0.0.0/8 or fd00::/8').default([]),
  /** Ports pull sources may use besides 80 and 443 (`8080`, `8000-8999`); default none. */
  CONTEXT_SOURCE_ALLOWED_PORTS: commaList(parsePortRange, 'use ports such as 8080 or ranges such as 8000-8999').default([]),
  CONTEXT_SOURCE_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  CONTEXT_SOURCE_MAX_BYTES: z.coerce.number().int().min(1024).max(100 * 1024 * 1024).default(5 * 1024 * 1024),
});

/** A comma-separated variable, each item parsed by `item` (null = malformed, named in the error). */
function commaList<T>(item: (text: string) => T | null, hint: string) {
  return z.string().transform((raw, ctx) => {
    const out: T[] = [];
    for (const text of raw.split(',').map((t) => t.trim()).filter(Boolean)) {
      const v = item(text);
      if (v === null) ctx.addIssue({ code: 'custom', message: `'${text}': ${hint}` });
      else out.push(v);
    }
    return out;
  });
}

/** Used only when UNIT_ID_KEY is unset (tests, a bare checkout); production must set its own. */
const DEV_UNIT_ID_KEY = 'expflow-dev-unit-id-key-do-not-use-in-production';

export interface Config {
  databaseUrl: string;
  redisUrl: string;
  temporalAddress: string;
  temporalNamespace: string;
  temporalUiUrl: string;
  /** Seconds after which a report refreshes its cells in the background. */
  reportRefreshSeconds: number;
  temporalCli: string;
  taskQueue: string;
  analyticsTaskQueue: string;
  apiPort: number;
  apiHost: string;
  apiToken?: string;
  /** Where evaluation datasets (NDJSON, Parquet) are written. */
  evaluationDataDir: string;
  /** How long a stopping API waits for in-flight requests before cutting connections. */
  shutdownGraceMs: number;
  notificationsQueue: string;
  /** The lock on a notification being delivered (NOTIFICATIONS_LOCK_SECONDS), in ms. */
  notificationsLockMs: number;
  /** How long a steering update waits for the workflow's worker before answering 503. */
  steeringTimeoutMs: number;
  /** How long the API waits for the Temporal server on a call without a deadline of its own. */
  temporalRpcTimeoutMs: number;
  /** Longest wait for Redis on an /assign before answering from the snapshot alone. */
  stickyTimeoutMs: number;
  allowedOrigins: string[];
  webhookSecret?: string;
  smtpUrl?: string;
  smtpFrom: string;
  events: {
    maxBatch: number;
    maxQueueDepth: number;
    queue: string;
    /** BullMQ lock on a batch being written; a batch whose worker died is taken over after it. */
    lockMs: number;
    retentionDays: number;
    dedupeWindowSeconds: number;
  };
  exposureSpoolDir: string;
  exposureFlushIntervalMs: number;
  maintenanceSchedule: boolean;
  unitIdKey: string;
  unitIdKeyPrevious?: string;
  contextPolicy: ContextPolicy;
  /** What pull sources may fetch (SSRF guard) and how much. */
  contextSources: SourceAccess;
  /** Days of context signal history kept by storage maintenance. */
  contextSignalRetentionDays: number;
  /** Prometheus counters on the API (off only to measure their cost). */
  metricsEnabled: boolean;
  /** The worker's own /metrics port; 0 picks a free one. */
  workerMetricsPort: number;
  workerMetricsHost: string;
  /** Temporal WorkerOptions set from the environment (only those given). */
  workerTuning: WorkerTuning;
  alerts: AlertConfig;
}

export interface WorkerTuning {
  maxConcurrentWorkflowTaskExecutions?: number;
  maxConcurrentActivityTaskExecutions?: number;
  maxCachedWorkflows?: number;
  maxConcurrentWorkflowTaskPolls?: number;
  maxConcurrentActivityTaskPolls?: number;
}

/** The alert scan (domain/alerts/rules.ts): where alerts go and the thresholds. */
export interface AlertConfig {
  /** Operators' webhook: every alert goes here, besides the experiment's own webhook. */
  webhookUrl?: string;
  scanIntervalMs: number;
  ingestLagSeconds: number;
  /** A running experiment's snapshot is stale after this many cycle intervals without a new one. */
  snapshotStaleCycles: number;
  /** Consecutive failed deliveries to an experiment's webhook that raise an alert. */
  webhookFailures: number;
}

function readEnvFile(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  const out: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^(?<key>[A-Z_]+)=(?<value>.*)$/.exec(line.trim());
    const key = m?.groups?.key;
    if (key !== undefined) out[key] = m?.groups?.value ?? '';
  }
  return out;
}

/** Parses the environment (with .data/env as fallback) and fails with the offending variable named. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const merged = { ...readEnvFile(join(ROOT, '.data', 'env')), ...stripEmpty(env) };
  const parsed = schema.safeParse(merged);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration (${issues}); run 'npm run services:up' or set the variables`);
  }
  const e = parsed.data;
  return {
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    temporalAddress: e.TEMPORAL_ADDRESS,
    temporalNamespace: e.TEMPORAL_NAMESPACE,
    temporalUiUrl: e.TEMPORAL_UI_URL,
    reportRefreshSeconds: e.REPORT_REFRESH_SECONDS,
    temporalCli: e.TEMPORAL_CLI ?? join(ROOT, '.tools', 'venv', 'bin', 'temporal'),
    taskQueue: e.TASK_QUEUE,
    analyticsTaskQueue: e.ANALYTICS_TASK_QUEUE ?? e.TASK_QUEUE,
    apiPort: e.API_PORT,
    apiHost: e.API_HOST,
    apiToken: e.API_TOKEN,
    metricsEnabled: e.METRICS_ENABLED === 'true',
    workerMetricsPort: e.WORKER_METRICS_PORT,
    workerMetricsHost: e.WORKER_METRICS_HOST,
    workerTuning: Object.fromEntries(
      Object.entries({
        maxConcurrentWorkflowTaskExecutions: e.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
        maxConcurrentActivityTaskExecutions: e.WORKER_MAX_CONCURRENT_ACTIVITIES,
        maxCachedWorkflows: e.WORKER_MAX_CACHED_WORKFLOWS,
        maxConcurrentWorkflowTaskPolls: e.WORKER_WORKFLOW_TASK_POLLERS,
        maxConcurrentActivityTaskPolls: e.WORKER_ACTIVITY_TASK_POLLERS,
      }).filter(([, v]) => v !== undefined),
    ),
    alerts: {
      webhookUrl: e.ALERT_WEBHOOK_URL,
      scanIntervalMs: e.ALERT_SCAN_INTERVAL_SECONDS * 1000,
      ingestLagSeconds: e.ALERT_INGEST_LAG_SECONDS,
      snapshotStaleCycles: e.ALERT_SNAPSHOT_STALE_CYCLES,
      webhookFailures: e.ALERT_WEBHOOK_FAILURES,
    },
    evaluationDataDir: e.EVALUATION_DATA_DIR ?? join(ROOT, '.data', 'datasets'),
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    notificationsQueue: e.NOTIFICATIONS_QUEUE,
    notificationsLockMs: e.NOTIFICATIONS_LOCK_SECONDS * 1000,
    steeringTimeoutMs: e.STEERING_TIMEOUT_SECONDS * 1000,
    temporalRpcTimeoutMs: e.TEMPORAL_RPC_TIMEOUT_SECONDS * 1000,
    stickyTimeoutMs: e.STICKY_TIMEOUT_MS,
    allowedOrigins: (e.ALLOWED_ORIGINS ?? '').split(',').map((o) => o.trim()).filter(Boolean),
    webhookSecret: e.EXPFLOW_WEBHOOK_SECRET,
    smtpUrl: e.SMTP_URL,
    smtpFrom: e.SMTP_FROM,
    events: {
      maxBatch: e.EVENTS_MAX_BATCH,
      maxQueueDepth: e.EVENTS_MAX_QUEUE_DEPTH,
      queue: e.EVENTS_QUEUE,
      lockMs: e.EVENTS_LOCK_SECONDS * 1000,
      retentionDays: e.EVENT_RETENTION_DAYS,
      dedupeWindowSeconds: e.EVENT_DEDUPE_WINDOW_HOURS * 3600,
    },
    exposureSpoolDir: e.EXPOSURE_SPOOL_DIR,
    exposureFlushIntervalMs: e.EXPOSURE_FLUSH_INTERVAL_MS,
    maintenanceSchedule: e.STORAGE_MAINTENANCE_SCHEDULE === 'on',
    unitIdKey: e.UNIT_ID_KEY ?? devUnitIdKey(e.NODE_ENV),
    unitIdKeyPrevious: e.UNIT_ID_KEY_PREVIOUS,
    contextPolicy: parseContextPolicy(e.CONTEXT_POLICY),
    contextSignalRetentionDays: e.CONTEXT_SIGNAL_RETENTION_DAYS,
    contextSources: {
      policy: { schemes: e.CONTEXT_SOURCE_SCHEMES, allowedHosts: e.CONTEXT_SOURCE_ALLOWED_HOSTS, privateNetworks: e.CONTEXT_SOURCE_PRIVATE_NETWORKS as Cidr[], allowedPorts: e.CONTEXT_SOURCE_ALLOWED_PORTS as PortRange[] },
      timeoutMs: e.CONTEXT_SOURCE_TIMEOUT_MS,
      maxBytes: e.CONTEXT_SOURCE_MAX_BYTES,
    },
  };
}

let warnedDevKey = false;
function devUnitIdKey(nodeEnv: string | undefined): string {
  if (nodeEnv === 'production' && !warnedDevKey) {
    warnedDevKey = true;
    console.error(
      '\n[expflow] WARNING: UNIT_ID_KEY is not set. Unit ids are pseudonymised with a PUBLIC development key,\n' +
        '[expflow] WARNING: so anyone can link stored pseudonyms back to unit ids. Set UNIT_ID_KEY to a secret of 32+ random bytes.\n',
    );
  }
  return DEV_UNIT_ID_KEY;
}

function parseContextPolicy(raw: string | undefined): ContextPolicy {
  if (!raw) return DEFAULT_CONTEXT_POLICY;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new Error('invalid configuration (CONTEXT_POLICY: not valid JSON)');
  }
  const parsed = contextPolicySchema.safeParse(json);
  if (!parsed.success) {
    const i = at(parsed.error.issues, 0, 'zod issues'); // a failed parse has at least one
    throw new Error(`invalid configuration (CONTEXT_POLICY.${i.path.join('.')}: ${i.message})`);
  }
  return parsed.data;
}

function stripEmpty(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((kv): kv is [string, string] => !!kv[1]));
}
