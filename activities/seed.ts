/** Deterministic per-step seeds, so a retried activity computes exactly what the first try did. */
import { fnv1a32 } from '../domain/assignment/hash.js';

export function seedFor(experimentSeed: string, cycle: number, step: string): number {
  return fnv1a32(`${experimentSeed}:${cycle}:${step}`);
}
