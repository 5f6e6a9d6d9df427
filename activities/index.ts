/** createActivities(deps): the activity functions the worker registers, as thin adapters over the domain. */
import { loadExperiment } from '../infra/experiment-repo.js';
import { collectData } from './collect.js';
import { pollContextSource, recordContextSourceFailure } from './context-source.js';
import { decide } from './decide.js';
import type { ActivityDeps } from './deps.js';
import { failEvaluationActivity, runEvaluationActivity } from './evaluate.js';
import { nonRetryableOnInvalidData } from './failures.js';
import { maintainStorage } from './maintain-storage.js';
import { notify } from './notify.js';
import { recordOperatorAction } from './operator.js';
import { publishOverride, recordPhaseChange } from './phase.js';
import { predictSignificance } from './predict.js';
import { reallocateTraffic } from './reallocate.js';
import { runCycle } from './run-cycle.js';
import { segmentUnits } from './segment.js';
import { throttleOrTerminate } from './throttle.js';
import { finishTraining, planTraining, requestTraining, startTrainingComparisons } from './training.js';

export function createActivities(deps: ActivityDeps) {
  const cycleSteps = {
    collectData: collectData(deps),
    segmentUnits: segmentUnits(deps),
    predictSignificance: predictSignificance(deps),
    reallocateTraffic: reallocateTraffic(deps),
    throttleOrTerminate: throttleOrTerminate(deps),
    decide: decide(deps),
  };
  return withPermanentFailures({
    ...cycleSteps,
    runCycle: runCycle(cycleSteps, (key) => loadExperiment(deps.prisma, key)),
    notify: notify(deps),
    recordPhaseChange: recordPhaseChange(deps),
    publishOverride: publishOverride(deps),
    pollContextSource: pollContextSource(deps),
    recordContextSourceFailure: recordContextSourceFailure(deps),
    runEvaluation: runEvaluationActivity(deps),
    failEvaluation: failEvaluationActivity(deps),
    recordOperatorAction: recordOperatorAction(deps),
    maintainStorage: maintainStorage(deps),
    planTraining: planTraining(deps),
    requestTraining: requestTraining(deps),
    startTrainingComparisons: startTrainingComparisons(deps),
    finishTraining: finishTraining(deps),
  });
}

/** Every activity fails without retries on stored data that cannot be used (see failures.ts). */
function withPermanentFailures<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
  return Object.fromEntries(Object.entries(activities).map(([name, fn]) => [name, nonRetryableOnInvalidData(fn)])) as T;
}

export type Activities = ReturnType<typeof createActivities>;
export type { ActivityDeps };
