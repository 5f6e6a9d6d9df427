/**
 * What the privacy and context edge costs the /assign path, in process (issue #8): the pure
 * assignment alone vs the same plus everything the edge adds per request: the HMAC-SHA256
 * pseudonym, the derived features (time in a non-UTC zone, 20 current signals of which some are
 * attribute-scoped) and the privacy policy on a context with location. Baseline for the signal
 * features: the naive way, filtering and ranking the raw signal list on every request
 * (`currentSignals` + `signalFeatures`), which the prepared cache replaces.
 * Goal: prepared signal features ≥ 3× faster than the naive way. The absolute figures depend on the
 * machine's load; compare them with assignPrepared, measured in the same run.
 * Prints a table and a final JSON line.
 */
import { at } from '../domain/at.js';
import { assignPrepared, compileSnapshot } from '../domain/assignment/index.js';
import { currentSignals, prepareSignals, signalFeatures, type ContextSignal } from '../domain/context/signals.js';
import { DEFAULT_CONTEXT_POLICY } from '../domain/privacy/context-policy.js';
import { UnitEdge } from '../api/unit-edge.js';
import { benchSnapshot } from './lib/bench-snapshot.js';

const ITER = Number(process.env.BENCH_ITER ?? 300_000);
const ROUNDS = 5;
const ids = Array.from({ length: 50_000 }, (_, i) => `user-${i.toString(36)}-${(i * 2654435761) >>> 0}`);
const now = Date.parse('2026-07-01T12:00:00Z');
const signals: ContextSignal[] = Array.from({ length: 20 }, (_, i) => ({
  source: i % 2 ? 'news' : 'weather',
  name: `s${i}`,
  value: i / 10,
  timestamp: new Date(now - 60_000).toISOString(),
  ttlSeconds: 3600,
  scope: i % 4 === 0 ? { kind: 'attributes', match: { country: 'PT' } } : { kind: 'global' },
}));
const prep = compileSnapshot({ ...benchSnapshot('edge-bench', true), timeZone: 'Europe/Lisbon' });
const context = { country: 'PT', platform: 'ios', lat: 38.72225, lon: -9.13934, ip: '203.0.113.77' };
const prepared = prepareSignals(signals);
const edge = new UnitEdge('bench-key-0123456789abcdef', DEFAULT_CONTEXT_POLICY, { prepared: () => prepared });

function measure(fn: (n: number) => number): number {
  fn(Math.min(ITER, 50_000));
  const rates: number[] = [];
  let sink = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    sink += fn(ITER);
    rates.push(Number(process.hrtime.bigint() - t0) / ITER);
  }
  if (sink === 0.4242) console.log('');
  rates.sort((a, b) => a - b);
  return at(rates, Math.floor(rates.length / 2), 'rates');
}

const rows: Array<{ name: string; nsPerOp: number }> = [];
rows.push({ name: 'assignPrepared (raw id, raw context)', nsPerOp: measure((n) => { let a = 0; for (let i = 0; i < n; i++) a += assignPrepared(at(ids, i % ids.length, 'ids'), prep, context).propensity; return a; }) });
rows.push({ name: 'HMAC-SHA256 pseudonym', nsPerOp: measure((n) => { let a = 0; for (let i = 0; i < n; i++) a += edge.pseudonymise(at(ids, i % ids.length, 'ids')).length; return a; }) });
rows.push({ name: 'derived features (time + 20 signals)', nsPerOp: measure((n) => { let a = 0; for (let i = 0; i < n; i++) a += Object.keys(edge.enrich('edge-bench', 'Europe/Lisbon', context, now + (i & 1023))).length; return a; }) });
rows.push({ name: 'privacy policy (stored context)', nsPerOp: measure((n) => { let a = 0; for (let i = 0; i < n; i++) a += Object.keys(edge.storable(context)).length; return a; }) });
rows.push({
  name: 'assign + full edge',
  nsPerOp: measure((n) => {
    let a = 0;
    for (let i = 0; i < n; i++) {
      const id = at(ids, i % ids.length, 'ids');
      const ctx = edge.enrich('edge-bench', 'Europe/Lisbon', context, now);
      a += edge.pseudonymise(id).length + assignPrepared(id, prep, ctx).propensity + Object.keys(edge.storable(ctx)).length;
    }
    return a;
  }),
});
rows.push({ name: 'naive signal features (raw list per request)', nsPerOp: measure((n) => { let a = 0; for (let i = 0; i < n; i++) a += Object.keys(signalFeatures(currentSignals(signals, now), 'edge-bench', context, now)).length; return a; }) });

const base = at(rows, 0, 'rows').nsPerOp;
const full = at(rows, 4, 'rows').nsPerOp;
console.log('| what | ns/op | × assignPrepared |');
console.log('|---|---:|---:|');
for (const r of rows) console.log(`| ${r.name} | ${r.nsPerOp.toFixed(0)} | ${(r.nsPerOp / base).toFixed(1)} |`);
const addedUs = (full - base) / 1000;
const speedup = at(rows, 5, 'rows').nsPerOp / at(rows, 2, 'rows').nsPerOp;
console.log(`\nedge adds ${addedUs.toFixed(2)} µs per assignment; prepared signal features ${speedup.toFixed(1)}× faster than naive (goal ≥ 3×)`);
console.log(JSON.stringify({ bench: 'context-edge', iterations: ITER, nsPerOp: Object.fromEntries(rows.map((r) => [r.name, Math.round(r.nsPerOp)])), edgeAddedUs: Number(addedUs.toFixed(3)), preparedVsNaive: Number(speedup.toFixed(2)), goal: 3, pass: speedup >= 3 }));
