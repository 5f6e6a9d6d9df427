/**
 * What a segment that has concluded on its own is served from then on: the winning arm when one
 * was shown better ("ship b to segment 2"), control when an arm was shown harmful and none better.
 * Conclusions rest on running-minimum always-valid p-values with Holm across segments × arms, so
 * once reached they persist at later looks.
 */
import type { Weights } from '../types.js';

export interface SegmentArmConclusion {
  segmentId: number;
  arm: string;
  estimate: number;
  adjustedPValue: number;
  outcome: 'ship' | 'harm' | 'none';
}

export interface SegmentServing {
  serve: string;
  reason: string;
}

/** Per concluded segment, the variant to serve everyone in it. */
export function servingForConcludedSegments(decisions: readonly SegmentArmConclusion[], control: string): Map<number, SegmentServing> {
  const out = new Map<number, SegmentServing>();
  const bySegment = new Map<number, SegmentArmConclusion[]>();
  for (const d of decisions) bySegment.set(d.segmentId, [...(bySegment.get(d.segmentId) ?? []), d]);
  for (const [segment, list] of bySegment) {
    const ships = list.filter((d) => d.outcome === 'ship').sort((a, b) => a.adjustedPValue - b.adjustedPValue || Math.abs(b.estimate) - Math.abs(a.estimate));
    if (ships.length) {
      out.set(segment, { serve: ships[0]!.arm, reason: `segment ${segment} concluded: ship ${ships[0]!.arm} (adjusted always-valid p=${ships[0]!.adjustedPValue.toPrecision(3)})` });
    } else if (list.some((d) => d.outcome === 'harm')) {
      const harmful = list.filter((d) => d.outcome === 'harm').map((d) => d.arm);
      out.set(segment, { serve: control, reason: `segment ${segment} concluded: ${harmful.join(', ')} harmful, serve ${control}` });
    }
  }
  return out;
}

/** All weight on the served variant. */
export function servingWeights(variants: readonly string[], serve: string): Weights {
  return Object.fromEntries(variants.map((v) => [v, v === serve ? 1 : 0]));
}

type Outcome = 'continue' | 'ship' | 'stop_harm' | 'stop_futility' | 'inconclusive';

/**
 * The experiment-level verdict of a branching (segmented) experiment. A whole-population ship or
 * stop would override what the segments are finding (shipping to everyone while one segment is
 * harmed), so those wait; the experiment ends once every segment has its answer, each segment
 * keeping its own. Horizon outcomes (inconclusive, futility) still end it.
 */
export function applyBranching(input: {
  outcome: Outcome;
  winner: string | null;
  rationale: string;
  segments: readonly number[];
  /** Answers in force (reached at an earlier look, so already served). */
  settled: ReadonlyMap<number, SegmentServing>;
  terminated: ReadonlySet<number>;
  control: string;
}): { outcome: Outcome; winner: string | null; rationale: string } {
  const { segments, settled, terminated, control } = input;
  if (segments.length > 1 && segments.every((s) => settled.has(s) || terminated.has(s))) {
    const serves = segments.map((s) => (terminated.has(s) ? control : settled.get(s)!.serve));
    const same = serves.every((v) => v === serves[0]);
    const detail = segments.map((s, i) => `segment ${s} → ${serves[i]}${terminated.has(s) ? ' (terminated)' : ''}`).join('; ');
    const anyHarm = [...settled.values()].some((x) => x.serve === control);
    const outcome: Outcome = serves.some((v) => v !== control) ? 'ship' : anyHarm ? 'stop_harm' : 'stop_futility';
    return { outcome, winner: same && serves[0] !== control ? serves[0]! : null, rationale: `every segment has its answer: ${detail}.` };
  }
  if (input.outcome === 'ship' || input.outcome === 'stop_harm') {
    return { outcome: 'continue', winner: null, rationale: `per-segment experiment: continuing until every segment has its answer (whole population: ${input.rationale})` };
  }
  return { outcome: input.outcome, winner: input.winner, rationale: input.rationale };
}
