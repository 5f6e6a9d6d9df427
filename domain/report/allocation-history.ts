/**
 * Why traffic moved: every published snapshot as one step of the allocation timeline, each with the
 * kinds of reason behind it (the step that wrote it and the reasons it recorded) and, when a person
 * caused it, who and why from the audit log.
 */
import type { AllocationSnapshot, ExperimentPhase, SegmentStatus, Weights } from '../types.js';

export type AllocationChangeKind = 'initial' | 'policy' | 'throttle' | 'override' | 'dampening' | 'conclusion' | 'phase';

/** A stored AllocationSnapshot row. */
export interface SnapshotRow {
  version: number;
  cycle: number;
  /** "initial", "reallocate", "throttle", "override-<n>", "phase-<n>". */
  step: string;
  reason: string;
  createdAt: string;
  snapshot: Pick<AllocationSnapshot, 'phase' | 'segments'>;
}

/** An audit-log row; `dedupeKey` ties activity-written entries to the snapshot step they caused. */
export interface AuditRow {
  at: string;
  actor: string;
  action: string;
  target: string;
  reason: string;
  dedupeKey: string | null;
}

export interface AllocationChange {
  version: number;
  cycle: number;
  at: string;
  step: string;
  kinds: AllocationChangeKind[];
  phase: ExperimentPhase;
  reason: string;
  actor: string | null;
  segments: Array<{ id: number; status: SegmentStatus; coverage: number; weights: Weights }>;
}

/** The kinds of reason behind one snapshot, from the step that wrote it and its recorded reason. */
export function classifyAllocationChange(step: string, reason: string, phase: ExperimentPhase): AllocationChangeKind[] {
  const kinds = new Set<AllocationChangeKind>();
  if (step === 'initial') kinds.add('initial');
  else if (step === 'throttle') kinds.add('throttle');
  else if (step.startsWith('override-')) kinds.add('override');
  else if (step.startsWith('phase-')) kinds.add(phase === 'concluded' || phase === 'stopped' ? 'conclusion' : 'phase');
  else kinds.add('policy');
  if (/manual override/.test(reason)) kinds.add('override');
  if (/dampening/.test(reason)) kinds.add('dampening');
  if (/concluded:/.test(reason)) kinds.add('conclusion');
  return [...kinds];
}

/** Snapshots in version order, each with its reasons and the actor who caused it (if a person did). */
export function allocationHistory(snapshots: readonly SnapshotRow[], audit: readonly AuditRow[]): AllocationChange[] {
  const byStep = new Map<string, AuditRow>();
  for (const a of audit) {
    // Activities key their audit entries "<experimentId>:<step>" (overrides and phase changes).
    const step = a.dedupeKey?.split(':').at(-1);
    if (step && (step.startsWith('override-') || step.startsWith('phase-'))) byStep.set(step, a);
  }
  return [...snapshots]
    .sort((a, b) => a.version - b.version)
    .map((s) => {
      const who = byStep.get(s.step);
      return {
        version: s.version,
        cycle: s.cycle,
        at: s.createdAt,
        step: s.step,
        kinds: classifyAllocationChange(s.step, s.reason, s.snapshot.phase),
        phase: s.snapshot.phase,
        reason: s.reason,
        actor: who ? who.actor : s.step === 'initial' ? null : 'expflow',
        segments: s.snapshot.segments.map((g) => ({ id: g.id, status: g.status, coverage: g.coverage, weights: g.weights })),
      };
    });
}
