/**
 * The demo: one real three-arm experiment on the local services. Simulated traffic with a planted
 * effect flows through the API each second; the workflow runs a cycle every few seconds, moving
 * traffic by Thompson sampling and deciding with always-valid statistics. Ctrl-C stops it.
 *   --exit   leave once the experiment is decided (for scripted runs)
 */
import { startApi } from '../api/main.js';
import { loadConfig } from '../config.js';
import { driveTraffic } from '../sim/traffic.js';
import { startWorker } from '../worker.js';

const exitWhenDecided = process.argv.includes('--exit');
const config = loadConfig();
const worker = await startWorker(config);
const api = await startApi(config);
const key = `demo-${new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '').toLowerCase()}`;
const rates = { control: 0.1, blue: 0.105, green: 0.135 };

let stopping = false;
const shutdown = async (code: number) => {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping the demo…');
  await api.close();
  await worker.close();
  process.exit(code);
};
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

const post = async (path: string, body: unknown) => {
  const res = await fetch(`${api.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await res.json()) as Record<string, any>;
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
};

console.log(`expflow demo — API ${api.url}, Temporal UI ${config.temporalUiUrl}`);
console.log(`planted conversion rates: ${Object.entries(rates).map(([k, v]) => `${k} ${(100 * v).toFixed(1)}%`).join(', ')}\n`);
await post('/experiments', {
  key,
  name: 'Demo: checkout button colour',
  hypothesis: 'A green checkout button lifts purchases',
  kind: 'multi_arm',
  owner: 'demo@expflow',
  variants: [
    { key: 'control', weight: 1 / 3 + 1e-12, control: true },
    { key: 'blue', weight: 1 / 3 },
    { key: 'green', weight: 1 / 3 },
  ],
  config: {
    metrics: [{ key: 'purchase', event: 'purchase', type: 'binary', role: 'primary' }],
    cycleIntervalSeconds: 3,
    policy: { kind: 'thompson' },
    bounds: { floor: 0.1, max: 0.8, maxChange: 0.15 },
    maxCycles: 200,
  },
});
const workflowUrl = `${config.temporalUiUrl}/namespaces/${config.temporalNamespace}/workflows/experiment-${key}`;
console.log(`experiment ${key} started — workflow experiment-${key}\n`);
console.log('cycle  units  weights (control / blue / green)   decision');

let wave = 0;
let lastCycle = 0;
let units = 0;
for (;;) {
  const t = await driveTraffic({ apiUrl: api.url, experiment: key, unitPrefix: `${key}-w${wave}`, count: 300, effect: { base: 0.1, rates }, seed: 1000 + wave });
  units += t.enrolled;
  wave++;
  const detail = (await fetch(`${api.url}/experiments/${key}`).then((r) => r.json())) as Record<string, any>;
  const live = detail.live;
  if (live && live.cycle !== lastCycle) {
    lastCycle = live.cycle;
    const w = live.weights['0'] ?? {};
    const fmt = (k: string) => (w[k] ?? 0).toFixed(2).padStart(5);
    const d = live.lastDecision;
    console.log(`${String(live.cycle).padStart(5)}  ${String(units).padStart(5)}  ${fmt('control')} / ${fmt('blue')} / ${fmt('green')}           ${d ? `${d.outcome}${d.winner ? ` → ${d.winner}` : ''}` : ''}`);
  }
  if (live && (live.phase === 'concluded' || live.phase === 'stopped')) {
    const d = live.lastDecision;
    console.log(`\nDecision at cycle ${d?.cycle}: ${d?.outcome}${d?.winner ? ` — ship '${d.winner}'` : ''}`);
    console.log(`  ${d?.rationale}`);
    console.log(`\nAPI:          ${api.url}  (try: curl ${api.url}/experiments/${key}/decisions)`);
    console.log(`Temporal UI:  ${workflowUrl}`);
    console.log(`Find it:      temporal workflow list --query 'ExperimentKey="${key}"'`);
    break;
  }
  await new Promise((r) => setTimeout(r, 1000));
}
if (exitWhenDecided) await shutdown(0);
console.log('\nServices keep running; press Ctrl-C to stop everything the demo started.');
await new Promise(() => {});
