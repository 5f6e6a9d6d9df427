/**
 * Offline replay of an experiment's decisions, cycle by cycle. Each cycle's cells are recomputed
 * from the logged exposures and events as of the moment the online run collected them, the cycle's
 * stored segmentation, terminations and snapshots are taken as they were, and `decideCycle` — the
 * function the decide activity runs — is applied with the segment-level state carried by the replay
 * itself. Every cycle must reach the online decision; the first that does not is reported with its
 * cause:
 *   data  — the logged data as of the cycle no longer gives the cells the online run collected
 *           (late or rewritten rows), while the rules on the stored cells still agree;
 *   rules — the rules on the very cells the online run stored decide differently: a bug (or a
 *           change of the decision code since the run).
 */
import { decideCycle, type CycleDecisionState, type CycleOperatorAction, type DecideCycleInput } from '../experiment/decide-cycle.js';
import type { CellStats } from '../types.js';

export interface ReplayCycle {
  cycle: number;
  /** Cells recomputed from the logged data as of the cycle's collection time. */
  loggedCells: CellStats[];
  /** Cells the online collect step stored. */
  storedCells: CellStats[];
  segments: DecideCycleInput['segments'];
  terminated: ReadonlySet<number>;
  /** Operator actions taken by the time of the online decision. */
  actions: readonly CycleOperatorAction[];
  /** The online decision's time (epoch ms). */
  decidedAt: number;
  online: { outcome: string; winner: string | null };
}

export interface ReplayInput {
  def: DecideCycleInput['def'];
  snapshots: DecideCycleInput['snapshots'];
  /** Epoch ms the experiment started. */
  startedAt: number;
  cycles: readonly ReplayCycle[];
}

export interface ReplayedCycle {
  cycle: number;
  online: { outcome: string; winner: string | null };
  replayed: { outcome: string; winner: string | null; rationale: string };
  dataMatches: boolean;
  rulesMatch: boolean;
  matches: boolean;
}

export interface ReplayResult {
  cycles: ReplayedCycle[];
  firstDifference: { cycle: number; cause: 'data' | 'rules'; online: ReplayedCycle['online']; replayed: ReplayedCycle['replayed'] } | null;
  /** The last cycle's decision as replayed. */
  final: ReplayedCycle | null;
}

const cellKey = (c: CellStats) => `${c.metric}|${c.variant}|${c.segment}|${c.period}|${c.propensityStratum ?? ''}|${c.stratum ?? ''}`;

/** Whether two collections of cells are the same statistics (order-free; 1e-9 relative tolerance). */
export function sameCells(a: readonly CellStats[], b: readonly CellStats[]): boolean {
  if (a.length !== b.length) return false;
  const m = new Map(a.map((c) => [cellKey(c), c.moments]));
  const close = (x: number, y: number) => Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(x), Math.abs(y));
  return b.every((c) => {
    const o = m.get(cellKey(c));
    return o !== undefined && close(o.n, c.moments.n) && close(o.sum, c.moments.sum) && close(o.sumSquares, c.moments.sumSquares);
  });
}

/** Replays every cycle in order (cycles must be sorted ascending). */
export function replayDecisions(input: ReplayInput): ReplayResult {
  let logged: CycleDecisionState | undefined;
  let stored: CycleDecisionState | undefined;
  const out: ReplayedCycle[] = [];
  let firstDifference: ReplayResult['firstDifference'] = null;
  for (const c of input.cycles) {
    const base = { def: input.def, cycle: c.cycle, segments: c.segments, terminated: c.terminated, snapshots: input.snapshots, actions: c.actions, startedAt: input.startedAt, now: c.decidedAt };
    const fromLogs = decideCycle({ ...base, cells: c.loggedCells, previous: logged });
    const fromStored = decideCycle({ ...base, cells: c.storedCells, previous: stored });
    logged = fromLogs;
    stored = fromStored;
    const same = (d: { outcome: string; winner: string | null }) => d.outcome === c.online.outcome && (d.winner ?? null) === (c.online.winner ?? null);
    const row: ReplayedCycle = {
      cycle: c.cycle,
      online: c.online,
      replayed: { outcome: fromLogs.outcome, winner: fromLogs.winner, rationale: fromLogs.rationale },
      dataMatches: sameCells(c.loggedCells, c.storedCells),
      rulesMatch: same(fromStored),
      matches: same(fromLogs),
    };
    out.push(row);
    if (!firstDifference && !(row.matches && row.rulesMatch)) {
      firstDifference = { cycle: c.cycle, cause: row.rulesMatch ? 'data' : 'rules', online: row.online, replayed: row.replayed };
    }
  }
  return { cycles: out, firstDifference, final: out.at(-1) ?? null };
}
