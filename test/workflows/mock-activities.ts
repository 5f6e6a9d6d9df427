/**
 * Activity doubles for workflow tests: they record calls and return scripted results. Only our own
 * activity boundary is mocked; the workflows run on the real Temporal dev server.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { Activities } from '../../activities/index.js';
import type { DecideResult } from '../../activities/decide.js';
import { runCycle } from '../../activities/run-cycle.js';

export interface ActivityScript {
  /** Decision returned at a given cycle (default: continue). */
  decisions?: Record<number, Partial<DecideResult>>;
  /** collectData fails (without retries) this many times first, with this error type. */
  collectFailures?: { count: number; type: string };
  /** The first publishOverride (the update handler's) takes this long, to hold the handler open. */
  overrideDelayMs?: number;
  /** collectData of these cycles takes this long (ms), to hold a cycle open. */
  collectDelayMs?: Record<number, number>;
  /** pollContextSource fails (without retries) with this message. */
  pollFailure?: string;
}

function notScripted(name: string): never {
  throw ApplicationFailure.nonRetryable(`${name} is not scripted in these workflow tests`, 'NotScripted');
}

export function mockActivities(script: ActivityScript = {}) {
  const calls: Array<{ name: string; input: any }> = [];
  /** Activities that have started (calls records them when they finish). */
  const started: string[] = [];
  /** Cycles whose collectData has started. */
  const collectsStarted: number[] = [];
  let version = 1;
  const record = <T>(name: string, input: unknown, result: T): T => {
    calls.push({ name, input });
    return result;
  };
  const steps = {
    collectData: async (i) => {
      const f = script.collectFailures;
      if (f && calls.filter((c) => c.name === 'collectData').length < f.count) {
        record('collectData', i, null);
        throw ApplicationFailure.nonRetryable(`database unavailable (scripted)`, f.type);
      }
      collectsStarted.push(i.cycle);
      const delay = script.collectDelayMs?.[i.cycle];
      if (delay) await new Promise((r) => setTimeout(r, delay));
      return record('collectData', i, { units: 100 * i.cycle, cells: 4 });
    },
    segmentUnits: async (i) => record('segmentUnits', i, { k: 1, sizes: { '0': 100 * i.cycle } }),
    predictSignificance: async (i) => record('predictSignificance', i, { segments: [{ id: 0, cycles: 3, capped: false, source: 'tree' }] }),
    reallocateTraffic: async (i) => {
      const weights = i.override ?? { control: 0.5, treatment: 0.5 };
      return record('reallocateTraffic', i, { version: ++version, weights: { '0': weights } });
    },
    throttleOrTerminate: async (i) => record('throttleOrTerminate', i, { version: null, weights: null, changes: [] }),
    decide: async (i) =>
      record('decide', i, { outcome: 'continue' as const, winner: null, rationale: `look ${i.cycle}: continue`, segmentConclusions: 0, ...(script.decisions?.[i.cycle] ?? {}) }),
  } satisfies Partial<Activities>;
  const activities: Activities = {
    ...steps,
    // The real chaining over the scripted steps, so each step is still recorded by name.
    runCycle: runCycle(steps),
    notify: async (i) => record('notify', i, { enqueued: 1 }),
    recordPhaseChange: async (i) => record('recordPhaseChange', i, { version: ++version }),
    recordOperatorAction: async (i) => record('recordOperatorAction', i, { recorded: true }),
    publishOverride: async (i) => {
      started.push('publishOverride');
      if (script.overrideDelayMs && started.length === 1) await new Promise((r) => setTimeout(r, script.overrideDelayMs));
      return record('publishOverride', i, { version: ++version, weights: { '0': i.weights ?? { control: 0.5, treatment: 0.5 } } });
    },
    pollContextSource: async (i) => {
      if (script.pollFailure) {
        record('pollContextSource', i, null);
        throw ApplicationFailure.nonRetryable(script.pollFailure, 'FeedDown');
      }
      return record('pollContextSource', i, { fetched: 1, stored: 1, problems: [], reactions: [] });
    },
    recordContextSourceFailure: async (i) => record('recordContextSourceFailure', i, undefined),
    // The evaluation workflow's activity; experiment workflows never call it.
    runEvaluation: async (i) => record('runEvaluation', i, { status: 'succeeded' as const, error: null }),
    failEvaluation: async (i) => record('failEvaluation', i, undefined),
    maintainStorage: async (i) => record('maintainStorage', i, { created: [], dropped: [], dedupePruned: 0 }),
    // The retraining workflow's activities (test/e2e/retraining.test.ts runs them for real).
    planTraining: async () => notScripted('planTraining'),
    requestTraining: async () => notScripted('requestTraining'),
    startTrainingComparisons: async () => notScripted('startTrainingComparisons'),
    finishTraining: async () => notScripted('finishTraining'),
  };
  return { activities, calls, started, collectsStarted, names: () => calls.map((c) => c.name) };
}
