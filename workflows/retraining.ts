/**
 * RetrainingWorkflow: one run of an entity's training, started by a training policy's Temporal
 * Schedule (infra/training-schedules.ts) or by POST /training-policies/.../trigger.
 *
 *   1. plan: which of the entity's model types are due (the one whose schedule fired always is),
 *      their candidates grouped by dataset fingerprint and trainer;
 *   2. one training request per group, so each group's data transformation runs once;
 *   3. wait for the new versions (the registry signals each registration), up to the policy's timeout;
 *   4. one comparison per model type: the champion against every new challenger, N-way, on the
 *      policy's experiment config (Thompson sampling by default: dynamic weights);
 *   5. wait for the comparisons to end (activities/phase.ts promotes the winner and retires the
 *      rest, then signals here), and record the run's outcome.
 * The TrainingRun row (id = this run's id) holds the plan and outcome for the API.
 */
import { condition, defineQuery, defineSignal, proxyActivities, setHandler, uuid4, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { isoAt, workflowNow } from './clock.js';

export interface RetrainingInput {
  entity: string;
  /** The policy whose schedule fired: due whatever its last training. */
  modelType: string;
}

export interface TrainedVersion {
  requestId: string;
  modelType: string;
  version: string;
}

export const trainedVersionSignal = defineSignal<[TrainedVersion]>('trainedVersion');
export const comparisonSettledSignal = defineSignal<[{ experimentKey: string }]>('comparisonSettled');

export interface RetrainingStatus {
  runId: string;
  stage: 'planning' | 'training' | 'comparing' | 'done';
  expected: string[];
  arrived: TrainedVersion[];
  comparisons: string[];
  settled: string[];
}
export const retrainingStatusQuery = defineQuery<RetrainingStatus>('retrainingStatus');

const { planTraining, requestTraining, startTrainingComparisons, finishTraining } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 20 },
});

export async function retrainingWorkflow(input: RetrainingInput) {
  const status: RetrainingStatus = { runId: uuid4(), stage: 'planning', expected: [], arrived: [], comparisons: [], settled: [] };
  setHandler(retrainingStatusQuery, () => status);
  setHandler(trainedVersionSignal, (v) => {
    if (!status.arrived.some((a) => a.requestId === v.requestId && a.version === v.version)) status.arrived.push(v);
  });
  setHandler(comparisonSettledSignal, ({ experimentKey }) => {
    if (!status.settled.includes(experimentKey)) status.settled.push(experimentKey);
  });

  const { runId } = status;
  const plan = await planTraining({ runId, workflowId: workflowInfo().workflowId, entity: input.entity, trigger: input.modelType, now: isoAt(workflowNow()) });
  if (plan.groups.length === 0) return await finishTraining({ runId, status: 'nothing_due', note: plan.skipped.map((s) => `${s.modelType}: ${s.reason}`).join('; ') });

  status.stage = 'training';
  status.expected = plan.groups.flatMap((g) => g.requests.map((r) => r.requestId));
  for (const [index, group] of plan.groups.entries()) {
    await requestTraining({ runId, workflowId: workflowInfo().workflowId, entity: input.entity, index, group });
  }
  const allArrived = await condition(() => status.expected.every((r) => status.arrived.some((a) => a.requestId === r)), plan.waitMs);

  status.stage = 'comparing';
  const started = await startTrainingComparisons({ runId, entity: input.entity, modelTypes: plan.due });
  status.comparisons = started.filter((s) => s.state === 'started').map((s) => s.experimentKey);
  const note = [
    allArrived ? null : `timed out after ${plan.waitMs / 1000} s waiting for ${status.expected.filter((r) => !status.arrived.some((a) => a.requestId === r)).join(', ')}`,
    ...started.map((s) => `${s.modelType}: ${s.note}`),
  ]
    .filter((x): x is string => x !== null)
    .join('; ');
  if (status.comparisons.length > 0) await condition(() => status.comparisons.every((k) => status.settled.includes(k)));
  status.stage = 'done';
  const outcome = status.comparisons.length > 0 ? 'completed' : started.some((s) => s.state === 'running') ? 'queued' : 'no_versions';
  return await finishTraining({ runId, status: outcome, note });
}
