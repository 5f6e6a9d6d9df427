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
