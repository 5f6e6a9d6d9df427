/**
 * bench:workflows (issue 12 item 7): experiments per worker. For each N, N experiments with short
 * cycles run on one worker process (real activities on the local PostgreSQL and Redis, the local
 * Temporal server), once per cycle design, side by side in the same run:
 *   per-step   one activity per step (the design before: about 7 workflow tasks a cycle)
 *   per-cycle  the six steps in one runCycle activity (the default now)
 * Starts are spread evenly over one interval (experiments are not created in the same second).
 * Each workflow runs BENCH_CYCLES timed cycles after its first, then concludes at maxCycles. Read
 * from the histories: workflow tasks, activities and history events per cycle; cycle lag (first
 * activity start minus the cycle timer's due time) at the median and p99; schedule-to-start of
 * workflow and activity tasks. CPU of the worker and the Temporal server process, per wall second.
 * The theoretical minimum with durable activities is 2 workflow tasks a cycle (the timer's wake-up
 * and the one activity's result). Goal: p99 lag < 10% of the interval at N = 200, 1-minute cycles.
 * The lag is split into the server's part (timer fired minus due) and the worker's (workflow task
 * schedule-to-start and run time, sticky-task timeouts).
 * Worker tunings (BENCH_TUNINGS): "default" runs the worker with the SDK's defaults; "tuned" with
 * the WORKER_* settings in TUNINGS below, side by side.
 * Env: BENCH_N ("50,100,200"), BENCH_INTERVAL_SECONDS (60), BENCH_CYCLES (3), BENCH_DESIGNS
 * ("per-step,per-cycle"), BENCH_TUNINGS ("default"), BENCH_UNITS (units seeded per experiment, 200),
 * BENCH_SERVER_PIDFILE (whose CPU is the server's; default the dev server's .data/temporal.pid).
 * Prints a table and a final JSON line. The machine's load average is printed with each row: on a
 * shared machine, compare designs measured at similar load.
 */
import { Client, Connection, ServiceError } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { loadConfig, type Config } from '../config.js';
import { addDays, dayOf } from '../domain/storage/partition-plan.js';
import { createEventPartitions } from '../infra/event-partitions.js';
import { createPool } from '../infra/pg.js';
import { createPrisma } from '../infra/prisma.js';
import { createRedis } from '../infra/redis.js';
import { abExperiment, createExperimentRow, seedUnits } from '../test/helpers/fixtures.js';
import { kill, spawnWorker } from '../test/helpers/processes.js';
import { experimentWorkflow, type ExperimentWorkflowInput } from '../workflows/experiment.js';
import { cycleCosts, quantile, type CycleCost } from './lib/cycle-history.js';
import { freshBenchDatabase } from './lib/bench-db.js';

type Design = NonNullable<ExperimentWorkflowInput['cycleActivities']>;
const NS = (process.env.BENCH_N ?? '50,100,200').split(',').map(Number);
const INTERVAL_MS = Number(process.env.BENCH_INTERVAL_SECONDS ?? 60) * 1000;
const CYCLES = Number(process.env.BENCH_CYCLES ?? 3);
const DESIGNS = (process.env.BENCH_DESIGNS ?? 'per-step,per-cycle').split(',') as Design[];
const UNITS = Number(process.env.BENCH_UNITS ?? 200);
/**
 * Worker settings compared ("default" = the SDK's): more workflow-task slots and pollers, so a burst of
 * due timers is picked up at once; fewer concurrent activities, so cycles do not queue for the
 * 10 + 10 database connections; a workflow cache larger than N, so no cycle replays its history.
 */
const TUNINGS: Record<string, Record<string, string>> = {
  default: {},
  tuned: { WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: '100', WORKER_WORKFLOW_TASK_POLLERS: '20', WORKER_MAX_CONCURRENT_ACTIVITIES: '20', WORKER_MAX_CACHED_WORKFLOWS: '2000' },
};
const TUNING_NAMES = (process.env.BENCH_TUNINGS ?? 'default').split(',');
for (const t of TUNING_NAMES) if (!TUNINGS[t]) throw new Error(`BENCH_TUNINGS: unknown tuning '${t}' (${Object.keys(TUNINGS).join(', ')})`);
const MIN_WORKFLOW_TASKS = 2;
for (const d of DESIGNS) if (d !== 'per-step' && d !== 'per-cycle') throw new Error(`BENCH_DESIGNS: unknown design '${d}'`);

const base = loadConfig();
const databaseUrl = await freshBenchDatabase(base.databaseUrl, 'expflow_bench_workflows');
const pool = createPool(databaseUrl, 4);
const prisma = createPrisma(databaseUrl);
const redis = createRedis(base.redisUrl);
const connection = await Connection.connect({ address: base.temporalAddress });
const client = new Client({ connection, namespace: base.temporalNamespace });
const today = dayOf(new Date());
await createEventPartitions(pool, [addDays(today, -1), today, addDays(today, 1)]);
const CLK_TCK = 100;

/** CPU seconds used so far by a process and its descendants (Linux /proc). */
function cpuSeconds(pid: number): number {
  let total = 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    total += (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime
    for (const task of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean)) total += cpuSeconds(Number(task));
  } catch {
    // the process is gone
  }
  return total;
}

/**
 * The Temporal server's pid: the dev server scripts/services.sh started, or the one BENCH_SERVER_PIDFILE
 * names (scripts/temporal-sql.sh writes .data/temporal-sql.pid for the server on PostgreSQL).
 */
function temporalPid(): number | null {
  try {
    const file = process.env.BENCH_SERVER_PIDFILE ?? new URL('../.data/temporal.pid', import.meta.url);
    return Number(readFileSync(file, 'utf8').trim()) || null;
  } catch {
    return null;
  }
}

/**
 * The workflow's result, long-polled again when the server gives up a poll (200 concurrent long polls
 * on a loaded Temporal server answered DEADLINE_EXCEEDED); any other error ends the run.
 */
const GRPC_DEADLINE_EXCEEDED = 4;
async function resultOf(h: { result(): Promise<unknown> }): Promise<unknown> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await h.result();
    } catch (e) {
      const code = ((e as { cause?: { code?: number } }).cause ?? {}).code;
      if (!(e instanceof ServiceError) || code !== GRPC_DEADLINE_EXCEEDED || attempt >= 50) throw e;
    }
  }
}

interface Row {
  n: number;
  design: Design;
  tuning: string;
  cycles: number;
  workflowTasksPerCycle: number;
  activitiesPerCycle: number;
  eventsPerCycle: number;
  lagP50Ms: number;
  lagP99Ms: number;
  lagP99OfInterval: number;
  cycleDurationP50Ms: number;
  wftScheduleToStartP50Ms: number;
  wftScheduleToStartP99Ms: number;
  activityScheduleToStartP50Ms: number;
  activityScheduleToStartP99Ms: number;
  timerDelayP50Ms: number;
  timerDelayP99Ms: number;
  wftRunP99Ms: number;
  wftTimeouts: number;
  workerCpu: number;
  serverCpu: number | null;
  wallSeconds: number;
  /** The machine's 1-minute load average at the end of the run (other processes share the cores). */
  loadAverage: number;
}

async function run(n: number, design: Design, tuning: string): Promise<Row> {
  const tag = `${design}-${tuning}-${n}-${randomBytes(3).toString('hex')}`;
  const taskQueue = `bench-wf-${tag}`;
  const config: Config = { ...base, databaseUrl, taskQueue, analyticsTaskQueue: taskQueue };
  const keys = Array.from({ length: n }, (_, i) => `bw-${tag}-${i}`);
  for (const [i, key] of keys.entries()) {
    await createExperimentRow(prisma, redis, abExperiment(key, { cycleIntervalSeconds: INTERVAL_MS / 1000, maxCycles: CYCLES + 1 }));
    await seedUnits(pool, { experiment: key, n: UNITS, variants: ['control', 'treatment'], rates: { control: 0.1, treatment: 0.12 }, seed: i + 1 });
  }
  const worker = await spawnWorker(config, { STORAGE_MAINTENANCE_SCHEDULE: 'off', TEMPORAL_LOG_LEVEL: 'ERROR', ...TUNINGS[tuning] });
  const serverPid = temporalPid();
  const t0 = performance.now();
  const cpu0 = { worker: cpuSeconds(worker.proc.pid ?? 0), server: serverPid ? cpuSeconds(serverPid) : 0 };
  try {
    const handles = [];
    for (const [i, key] of keys.entries()) {
      const due = t0 + (i * INTERVAL_MS) / n;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const input: ExperimentWorkflowInput = {
        experimentKey: key,
        kind: 'ab',
        variants: ['control', 'treatment'],
        cycleIntervalMs: INTERVAL_MS,
        maxCycles: CYCLES + 1,
        continueAsNewEvery: 1000,
        analyticsTaskQueue: taskQueue,
        cycleActivities: design,
      };
      handles.push(await client.workflow.start(experimentWorkflow, { taskQueue, workflowId: `experiment-${key}`, args: [input] }));
    }
    await Promise.all(handles.map((h) => resultOf(h)));
    const wallSeconds = (performance.now() - t0) / 1000;
    const cpu = { worker: cpuSeconds(worker.proc.pid ?? 0) - cpu0.worker, server: serverPid ? cpuSeconds(serverPid) - cpu0.server : null };
    const costs: CycleCost[] = [];
    for (const h of handles) costs.push(...cycleCosts(JSON.parse(historyToJSON(await h.fetchHistory())), INTERVAL_MS));
    const mean = (f: (c: CycleCost) => number) => costs.reduce((a, c) => a + f(c), 0) / costs.length;
    const lags = costs.map((c) => c.lagMs);
    return {
      n,
      design,
      tuning,
      cycles: costs.length,
      workflowTasksPerCycle: mean((c) => c.workflowTasks),
      activitiesPerCycle: mean((c) => c.activities),
      eventsPerCycle: mean((c) => c.events),
      lagP50Ms: quantile(lags, 0.5),
      lagP99Ms: quantile(lags, 0.99),
      lagP99OfInterval: quantile(lags, 0.99) / INTERVAL_MS,
      cycleDurationP50Ms: quantile(costs.map((c) => c.durationMs), 0.5),
      wftScheduleToStartP50Ms: quantile(costs.flatMap((c) => c.workflowTaskScheduleToStartMs), 0.5),
      wftScheduleToStartP99Ms: quantile(costs.flatMap((c) => c.workflowTaskScheduleToStartMs), 0.99),
      activityScheduleToStartP50Ms: quantile(costs.flatMap((c) => c.activityScheduleToStartMs), 0.5),
      activityScheduleToStartP99Ms: quantile(costs.flatMap((c) => c.activityScheduleToStartMs), 0.99),
      timerDelayP50Ms: quantile(costs.map((c) => c.timerDelayMs), 0.5),
      timerDelayP99Ms: quantile(costs.map((c) => c.timerDelayMs), 0.99),
      wftRunP99Ms: quantile(costs.flatMap((c) => c.workflowTaskRunMs), 0.99),
      wftTimeouts: costs.reduce((a, c) => a + c.workflowTaskTimeouts, 0),
      workerCpu: cpu.worker / wallSeconds,
      serverCpu: cpu.server === null ? null : cpu.server / wallSeconds,
      wallSeconds,
      loadAverage: loadavg()[0] ?? NaN,
    };
  } finally {
    await kill(worker, 'SIGTERM');
  }
}

const rows: Row[] = [];
for (const n of NS) {
  for (const design of DESIGNS) {
    for (const tuning of TUNING_NAMES) {
      const row = await run(n, design, tuning);
      rows.push(row);
      console.error(`[bench:workflows] N=${n} ${design} ${tuning}: ${row.cycles} cycles, ${row.workflowTasksPerCycle.toFixed(2)} workflow tasks/cycle, lag p99 ${row.lagP99Ms.toFixed(0)} ms, load ${row.loadAverage.toFixed(1)}`);
    }
  }
}

const f = (x: number | null, d = 0) => (x === null || Number.isNaN(x) ? '—' : x.toFixed(d));
const pct = (x: number | null) => (x === null ? '—' : `${(100 * x).toFixed(0)}%`);
console.log(`\nbench:workflows — Temporal at ${base.temporalAddress}, interval ${INTERVAL_MS / 1000} s, ${CYCLES} timed cycles per experiment, one worker, ${UNITS} units per experiment; reference: ${MIN_WORKFLOW_TASKS} workflow tasks per cycle (theoretical minimum with durable activities)\n`);
console.log(`tunings: ${TUNING_NAMES.map((t) => `${t} = ${JSON.stringify(TUNINGS[t])}`).join('; ')}\n`);
console.log('| N | design | tuning | cycles | WFT/cycle (min 2) | activities/cycle | events/cycle | lag p50 ms | lag p99 ms | p99/interval | timer fired−due p50/p99 ms | WFT sched→start p50/p99 ms | WFT run p99 ms | WFT timeouts | activity sched→start p50/p99 ms | cycle p50 ms | worker CPU | server CPU | load avg |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.n} | ${r.design} | ${r.tuning} | ${r.cycles} | ${f(r.workflowTasksPerCycle, 2)} | ${f(r.activitiesPerCycle, 2)} | ${f(r.eventsPerCycle, 1)} | ${f(r.lagP50Ms)} | ${f(r.lagP99Ms)} | ${(100 * r.lagP99OfInterval).toFixed(2)}% | ${f(r.timerDelayP50Ms)}/${f(r.timerDelayP99Ms)} | ${f(r.wftScheduleToStartP50Ms)}/${f(r.wftScheduleToStartP99Ms)} | ${f(r.wftRunP99Ms)} | ${r.wftTimeouts} | ${f(r.activityScheduleToStartP50Ms)}/${f(r.activityScheduleToStartP99Ms)} | ${f(r.cycleDurationP50Ms)} | ${pct(r.workerCpu)} | ${pct(r.serverCpu)} | ${f(r.loadAverage, 1)} |`,
  );
}
// The goal row: N = 200, one-minute cycles, the default design; the best tuning measured.
const goal = rows.filter((r) => r.n === 200 && r.design === 'per-cycle' && INTERVAL_MS === 60_000).sort((a, b) => a.lagP99OfInterval - b.lagP99OfInterval)[0];
console.log(JSON.stringify({ bench: 'workflows', temporalAddress: base.temporalAddress, intervalSeconds: INTERVAL_MS / 1000, cycles: CYCLES, minWorkflowTasksPerCycle: MIN_WORKFLOW_TASKS, goal: goal ? { n: 200, tuning: goal.tuning, lagP99OfInterval: goal.lagP99OfInterval, met: goal.lagP99OfInterval < 0.1, loadAverage: goal.loadAverage } : null, tunings: Object.fromEntries(TUNING_NAMES.map((t) => [t, TUNINGS[t]])), rows }));

await connection.close();
await prisma.$disconnect();
await pool.end();
redis.disconnect();
