/**
 * Simulated app traffic for the demo and the end-to-end test: units ask the API for an assignment,
 * then send outcome events whose conversion rate depends on the variant served (a planted effect).
 */
import { createRng, type Rng } from '../domain/rng.js';

export interface PlantedEffect {
  /** Conversion probability per variant key; variants not listed use `base`. */
  rates: Record<string, number>;
  base: number;
}

export interface Persona {
  context: Record<string, string | number | boolean>;
  behaviour: Array<{ name: string; value: number }>;
  rates: Record<string, number>;
}

export interface TrafficBatchResult {
  assigned: number;
  enrolled: number;
  conversions: number;
  byVariant: Record<string, number>;
}

interface AssignResponse {
  variant: string;
  enrolled: boolean;
}

/** Runs `count` units through /assign and /events with bounded concurrency. */
export async function driveTraffic(opts: {
  apiUrl: string;
  experiment: string;
  unitPrefix: string;
  count: number;
  effect: PlantedEffect;
  seed: number;
  concurrency?: number;
  context?: (i: number, rng: Rng) => Record<string, string | number | boolean>;
  /** Heterogeneous users: their context, behaviour events and own conversion rates per variant. */
  persona?: (i: number, rng: Rng) => Persona;
}): Promise<TrafficBatchResult> {
  const rng = createRng(opts.seed);
  const units = Array.from({ length: opts.count }, (_, i) => {
    const p = opts.persona?.(i, rng);
    return {
      unitId: `${opts.unitPrefix}-${i}`,
      u: rng(),
      context: p?.context ?? opts.context?.(i, rng) ?? {},
      behaviour: p?.behaviour ?? [],
      rates: p?.rates ?? opts.effect.rates,
    };
  });
  const result: TrafficBatchResult = { assigned: 0, enrolled: 0, conversions: 0, byVariant: {} };
  const events: Array<Record<string, unknown>> = [];
  let next = 0;
  const worker = async () => {
    for (let unit = units[next++]; unit !== undefined; unit = units[next++]) {
      const res = await fetch(`${opts.apiUrl}/assign`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ experiment: opts.experiment, unitId: unit.unitId, context: unit.context }),
      });
      if (!res.ok) throw new Error(`assign failed: ${res.status} ${await res.text()}`);
      const a = (await res.json()) as AssignResponse;
      result.assigned++;
      if (!a.enrolled) continue;
      result.enrolled++;
      result.byVariant[a.variant] = (result.byVariant[a.variant] ?? 0) + 1;
      events.push({ eventId: `${unit.unitId}-view`, experiment: opts.experiment, unitId: unit.unitId, name: 'page_view', value: 1 });
      unit.behaviour.forEach((b, j) => events.push({ eventId: `${unit.unitId}-b${j}`, experiment: opts.experiment, unitId: unit.unitId, name: b.name, value: b.value }));
      if (unit.u < (unit.rates[a.variant] ?? opts.effect.base)) {
        result.conversions++;
        events.push({ eventId: `${unit.unitId}-purchase`, experiment: opts.experiment, unitId: unit.unitId, name: 'purchase', value: 1 });
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 32 }, worker));
  for (let i = 0; i < events.length; i += 1000) {
    const res = await fetch(`${opts.apiUrl}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ events: events.slice(i, i + 1000) }),
    });
    if (res.status !== 202) throw new Error(`events failed: ${res.status} ${await res.text()}`);
  }
  return result;
}
