/**
 * Per-cycle costs read from an experiment workflow's history (JSON form, as historyToJSON writes
 * it): for each cycle a timer woke, the workflow tasks, activities and history events it took, its
 * lag (first activity start minus the timer's due time) and the schedule-to-start latencies of its
 * tasks. A cycle is the span from its TimerFired to the next cycle timer's TimerStarted; cycles run
 * at once (the first, a runCycleNow) have no due time and are left out.
 */

interface HistoryEvent {
  eventType: string;
  eventTime: string;
  timerStartedEventAttributes?: { startToFireTimeout?: string };
}

export interface CycleCost {
  workflowTasks: number;
  activities: number;
  events: number;
  /** Milliseconds from the timer's due time to the cycle's first activity start. */
  lagMs: number;
  /** Milliseconds from the timer firing to the next cycle timer starting. */
  durationMs: number;
  workflowTaskScheduleToStartMs: number[];
  activityScheduleToStartMs: number[];
  /** Milliseconds from the timer's due time to the server firing it (the server's part of the lag). */
  timerDelayMs: number;
  /** Milliseconds each workflow task ran on the worker (started to completed). */
  workflowTaskRunMs: number[];
  /** Workflow tasks that timed out (a sticky task no poller took in time, or a task the worker did not finish). */
  workflowTaskTimeouts: number;
}

const T = (type: string) => `EVENT_TYPE_${type}`;

/** Nanosecond-precise event times as milliseconds (Date.parse keeps only milliseconds). */
function ms(iso: string): number {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(iso);
  if (!m) return Date.parse(iso);
  const frac = (m[2] ?? '').padEnd(9, '0').slice(0, 9);
  return Date.parse(`${m[1]}Z`) + Number(frac) / 1e6;
}

function seconds(duration: string | undefined): number | null {
  const m = duration ? /^([\d.]+)s$/.exec(duration) : null;
  return m ? Number(m[1]) : null;
}

/** The timed cycles of one history whose cycle timers last `intervalMs`. */
export function cycleCosts(history: { events: HistoryEvent[] }, intervalMs: number): CycleCost[] {
  const events = history.events;
  const isCycleTimer = (e: HistoryEvent) => e.eventType === T('TIMER_STARTED') && seconds(e.timerStartedEventAttributes?.startToFireTimeout) === intervalMs / 1000;
  const out: CycleCost[] = [];
  let dueAt: number | null = null;
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    if (!e) continue;
    if (isCycleTimer(e)) {
      dueAt = ms(e.eventTime) + intervalMs;
      continue;
    }
    if (e.eventType !== T('TIMER_FIRED') || dueAt === null) continue;
    const end = events.findIndex((x, j) => j > i && isCycleTimer(x));
    if (end < 0) break; // the run ended (or continued as new) after this cycle: no complete span
    const span = events.slice(i, end + 1);
    const scheduled: Record<string, number[]> = { WORKFLOW_TASK: [], ACTIVITY_TASK: [] };
    const cost: CycleCost = {
      workflowTasks: 0,
      activities: 0,
      events: span.length,
      lagMs: NaN,
      durationMs: ms(span[span.length - 1]?.eventTime ?? e.eventTime) - ms(e.eventTime),
      workflowTaskScheduleToStartMs: [],
      activityScheduleToStartMs: [],
      timerDelayMs: ms(e.eventTime) - dueAt,
      workflowTaskRunMs: [],
      workflowTaskTimeouts: 0,
    };
    let wftStartedAt: number | null = null;
    for (const x of span) {
      for (const kind of ['WORKFLOW_TASK', 'ACTIVITY_TASK'] as const) {
        if (x.eventType === T(`${kind}_SCHEDULED`)) scheduled[kind]?.push(ms(x.eventTime));
        if (x.eventType === T(`${kind}_STARTED`)) {
          const from = scheduled[kind]?.shift();
          if (from !== undefined) (kind === 'WORKFLOW_TASK' ? cost.workflowTaskScheduleToStartMs : cost.activityScheduleToStartMs).push(ms(x.eventTime) - from);
          if (kind === 'ACTIVITY_TASK' && Number.isNaN(cost.lagMs)) cost.lagMs = ms(x.eventTime) - dueAt;
        }
      }
      if (x.eventType === T('WORKFLOW_TASK_STARTED')) wftStartedAt = ms(x.eventTime);
      if (x.eventType === T('WORKFLOW_TASK_COMPLETED')) {
        cost.workflowTasks++;
        if (wftStartedAt !== null) cost.workflowTaskRunMs.push(ms(x.eventTime) - wftStartedAt);
        wftStartedAt = null;
      }
      if (x.eventType === T('WORKFLOW_TASK_TIMED_OUT')) cost.workflowTaskTimeouts++;
      if (x.eventType === T('ACTIVITY_TASK_SCHEDULED')) cost.activities++;
    }
    out.push(cost);
    dueAt = null;
  }
  return out;
}

/** The q-quantile (0..1) of `xs` by linear interpolation; NaN for none. */
export function quantile(xs: readonly number[], q: number): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const a = s[lo] ?? NaN;
  const b = s[Math.min(lo + 1, s.length - 1)] ?? a;
  return a + (b - a) * (pos - lo);
}
