/**
 * Step 5: throttle or terminate segments (too small, harm beyond margin on an always-valid bound,
 * over budget, futile) and set coverage ∝ 1/predicted time. The bounds are built on each segment's
 * period-stratified effect, as the decide step's segment conclusions are. Every change is audited with its reason
 * and goes into a new snapshot; terminated segments are served control.
 */
import { poolByVariant } from '../domain/experiment/cells.js';
import { servingForConcludedSegments } from '../domain/decision/segment-conclusions.js';
import { controlVariant } from '../domain/experiment/snapshot.js';
import { segmentArmKey, segmentEffects } from '../domain/decision/segment-conclusions.js';
import { evaluateSegments, type SegmentRuleResult } from '../domain/segment-rules/throttle-rules.js';
import type { Weights } from '../domain/types.js';
import { loadExperiment } from '../infra/experiment-repo.js';
import { saveSegmentStatus, segmentStates } from '../infra/segment-repo.js';
import { auditOnce } from '../infra/audit-log.js';
import { latestSnapshot, saveSnapshot } from '../infra/snapshot-writer.js';
import { readPreviousStep, readStep, writeStepOnce } from '../infra/cycle-store.js';
import { collectPayloadSchema, decidePayloadSchema, predictPayloadSchema, segmentPayloadSchema, throttlePayloadSchema } from './step-payloads.js';
import type { ActivityDeps, CycleRef } from './deps.js';

export interface ThrottlePayload {
  applied: boolean;
  results: Array<Pick<SegmentRuleResult, 'id' | 'status' | 'coverage' | 'rule' | 'reason' | 'changed'>>;
}

export function throttleOrTerminate(d: ActivityDeps) {
  return async ({ experimentKey, cycle }: CycleRef): Promise<{ version: number | null; weights: Record<string, Weights> | null; changes: string[] }> => {
    const exp = await loadExperiment(d.prisma, experimentKey);
    const stepRef = { prisma: d.prisma, experimentId: exp.id, cycle };
    const { config } = exp.def;
    const collected = await readStep(stepRef, 'collect', collectPayloadSchema);
    const segmented = await readStep(stepRef, 'segment', segmentPayloadSchema);
    const predicted = await readStep(stepRef, 'predict', predictPayloadSchema);
    if (!collected || !segmented || !predicted) throw new Error(`cycle ${cycle}: collect, segment and predict must run before throttle`);

    let payload = await readStep(stepRef, 'throttle', throttlePayloadSchema);
    if (!payload) {
      // Segment rules need real segments: the catch-all of an unsegmented experiment is the whole
      // experiment, whose harm and futility the decide step judges with its own error control.
      if (!segmented.enabled || segmented.segments.length < 2) {
        payload = { applied: false, results: [] };
      } else {
        const primary = config.metrics.find((m) => m.role === 'primary')!;
        const variants = exp.def.variants.map((v) => v.key);
        const rows = await segmentStates(d.prisma, exp.id);
        const predictions = new Map(predicted.segments.map((s) => [s.id, s]));
        // Segments that concluded on their own are served their answer; the rules no longer apply.
        const prevDecision = (await readPreviousStep(stepRef, 'decide', decidePayloadSchema))?.payload;
        const control = controlVariant(exp.def);
        const concluded = servingForConcludedSegments(prevDecision?.segmentDecisions ?? [], control);
        const results = evaluateSegments({
          segments: segmented.segments.filter((s) => !concluded.has(s.id)).map((s) => ({
            id: s.id,
            size: s.size,
            accrualPerCycle: predictions.get(s.id)?.features.accrualPerCycle ?? 0,
            arms: poolByVariant(collected.cells, primary.key, variants, s.id),
            // Harm and futility on the period-stratified effect (pooled moments are Simpson-biased
            // once the bandit has moved the weights), with the τ the decide step fixed for the key.
            effects: Object.fromEntries(
              Object.entries(segmentEffects(collected.cells, { metric: primary.key, metricType: primary.type, segment: s.id, control, variants })).map(([arm, e]) => {
                const tau = prevDecision?.segmentTau?.[segmentArmKey(s.id, arm)];
                return [arm, { ...e, ...(tau !== undefined && tau !== null && tau > 0 ? { tau } : {}) }];
              }),
            ),
            prediction: predictions.get(s.id)?.prediction ?? null,
            previousStatus: rows.get(s.id)?.status ?? 'active',
            previousCoverage: rows.get(s.id)?.coverage ?? 1,
          })),
          config: {
            control,
            direction: primary.direction,
            minCoverage: config.segmentation.minCoverage,
            minSegmentSize: config.segmentation.minSegmentSize,
            harmMargin: primary.margin ?? 0,
            mde: config.mde,
          },
          remainingBudget: { cycles: config.maxCycles - cycle },
          alpha: config.alpha,
          look: cycle,
        });
        payload = { applied: true, results: results.map(({ id, status, coverage, rule, reason, changed }) => ({ id, status, coverage, rule, reason, changed })) };
      }
      payload = await writeStepOnce(stepRef, 'throttle', throttlePayloadSchema, payload);
    }

    const changed = payload.results.filter((r) => r.changed);
    for (const r of payload.results) await saveSegmentStatus(d.prisma, exp.id, r);
    for (const r of changed) {
      const dedupeKey = `throttle:${exp.id}:${cycle}:${r.id}`;
      await auditOnce(d.prisma, { actor: 'expflow', action: `segment.${r.status}`, target: `${experimentKey}/segment-${r.id}`, reason: r.reason, data: { rule: r.rule, coverage: r.coverage }, dedupeKey });
    }
    if (!changed.length) return { version: null, weights: null, changes: [] };

    const base = await latestSnapshot(d.prisma, exp.id);
    if (!base) throw new Error('no snapshot to throttle');
    const byId = new Map(payload.results.map((r) => [r.id, r]));
    const snapshot = await saveSnapshot(d.prisma, d.redis, exp.id, { cycle, step: 'throttle' }, (version, latest) => ({
      ...(latest ?? base),
      version,
      cycle,
      segments: (latest ?? base).segments.map((s) => {
        const r = byId.get(s.id);
        return r ? { ...s, status: r.status, coverage: r.status === 'terminated' ? 0 : r.coverage * config.coverage } : s;
      }),
      reason: changed.map((r) => r.reason).join('; '),
      createdAt: (d.now ?? (() => new Date()))().toISOString(),
    }));
    return {
      version: snapshot.version,
      weights: Object.fromEntries(snapshot.segments.map((s) => [String(s.id), s.weights])),
      changes: changed.map((r) => r.reason),
    };
  };
}
