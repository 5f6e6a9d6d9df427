/**
 * The demo: one real experiment on the local services. Simulated traffic with a planted effect
 * flows through the API each second; the workflow runs a cycle every few seconds, moving traffic and
 * deciding with always-valid statistics. Ctrl-C stops it.
 *   --segments  the per-segment scenario (segmentation, branching, segment conclusions)
 *   --exit      leave once the experiment is decided (for scripted runs)
 */
import { startApi } from '../api/main.js';
import { loadConfig } from '../config.js';
import { driveTraffic } from '../sim/traffic.js';
import { startWorker } from '../worker.js';
import { armsScenario, segmentsScenario } from './demo-scenarios.js';

const exitWhenDecided = process.argv.includes('--exit');
const config = loadConfig();
const worker = await startWorker(config);
const api = await startApi(config);
const key = `demo-${new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '').toLowerCase()}`;
const scenario = process.argv.includes('--segments') ? segmentsScenario : armsScenario;

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
console.log(`planted: ${scenario.planted}\n`);
await post('/experiments', { key, name: scenario.title, owner: 'demo@expflow', ...scenario.experiment });
const workflowUrl = `${config.temporalUiUrl}/namespaces/${config.temporalNamespace}/workflows/experiment-${key}`;
console.log(`experiment ${key} started — workflow experiment-${key}\n`);
console.log(`cycle  units  weights per segment (${scenario.variants.join(' / ')})`);

const MAX_CYCLES_SHOWN = 120;
let wave = 0;
let lastCycle = 0;
let units = 0;
let lastNotes: string | undefined;
let decided = false;
for (;;) {
  const t = await driveTraffic({
    apiUrl: api.url,
    experiment: key,
    unitPrefix: `${key}-w${wave}`,
    count: scenario.unitsPerWave,
    effect: { base: 0.1, rates: scenario.rates },
    persona: scenario.persona,
    seed: 1000 + wave,
  });
  units += t.enrolled;
  wave++;
  const detail = (await fetch(`${api.url}/experiments/${key}`).then((r) => r.json())) as Record<string, any>;
  const live = detail.live;
  if (live && live.cycle !== lastCycle) {
    lastCycle = live.cycle;
    const segments = Object.entries(live.weights as Record<string, Record<string, number>>)
      .map(([id, w]) => `s${id} ${scenario.variants.map((v) => (w[v] ?? 0).toFixed(2)).join('/')}`)
      .join('   ');
    const d = live.lastDecision;
    console.log(`${String(live.cycle).padStart(5)}  ${String(units).padStart(5)}  ${segments}   ${d ? `${d.outcome}${d.winner ? ` → ${d.winner}` : ''}` : ''}`);
    const segmentNotes = /Segments: (.*)$/.exec(d?.rationale ?? '')?.[1];
    if (segmentNotes && segmentNotes !== lastNotes && scenario === segmentsScenario) console.log(`       ${segmentNotes}`);
    lastNotes = segmentNotes;
  }
  const finished = live && (live.phase === 'concluded' || live.phase === 'stopped');
  // Per-segment runs end when every segment has its answer (all weight on one variant).
  const weightsNow = Object.values((live?.weights ?? {}) as Record<string, Record<string, number>>);
  const segmentsSettled = scenario === segmentsScenario && weightsNow.length > 1 && weightsNow.every((w) => Object.values(w).some((x) => x === 1));
  if (finished || segmentsSettled || lastCycle >= MAX_CYCLES_SHOWN) {
    decided = Boolean(finished || segmentsSettled);
    const d = live?.lastDecision;
    console.log(`\nAt cycle ${d?.cycle}: ${d?.outcome}${d?.winner ? ` — ship '${d.winner}'` : ''}`);
    console.log(`  ${d?.rationale}`);
    if (scenario === segmentsScenario) {
      for (const [who, tenure] of [['a casual user (tenure 2)', 2], ['an engaged user (tenure 30)', 30]] as const) {
        const a = await post('/assign', { experiment: key, unitId: `after-${tenure}`, context: { tenure } });
        console.log(`  now serving ${who}: ${a.variant} (segment ${a.segment})`);
      }
    }
    console.log(`\nAPI:          ${api.url}  (try: curl ${api.url}/experiments/${key}/decisions)`);
    console.log(`Temporal UI:  ${workflowUrl}`);
    console.log(`Find it:      temporal workflow list --query 'ExperimentKey="${key}"'`);
    break;
  }
  await new Promise((r) => setTimeout(r, 1000));
}
// A scripted run that did not reach its decision fails, so CI notices a demo that no longer concludes.
if (exitWhenDecided) await shutdown(decided ? 0 : 1);
if (!decided) console.log(`\nno decision after ${MAX_CYCLES_SHOWN} cycles`);
console.log('\nServices keep running; press Ctrl-C to stop everything the demo started.');
await new Promise(() => {});
