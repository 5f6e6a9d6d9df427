/**
 * `expflow simulate --scenario file.json [--runs N] [--json]`
 * Runs the scenario's policies over synthetic arms (domain/allocation/simulate.ts) and prints a
 * table plus a final JSON line (`--json`: the JSON only). Exit 2 on bad arguments or scenario.
 */
import { POLICY_COLUMNS, alignColumns, policyCells } from '../domain/allocation/simulate-report.js';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type ScenarioResult, parseScenario, simulateScenario } from '../domain/allocation/index.js';

function fail(message: string): never {
  process.stderr.write(`expflow simulate: ${message}\n`);
  process.exit(2);
}

function main(): void {
  let values: { scenario?: string; runs?: string; json?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: { scenario: { type: 'string' }, runs: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }));
  } catch (err) {
    fail((err as Error).message);
  }
  if (values.help) {
    process.stdout.write('usage: expflow simulate --scenario file.json [--runs N] [--json]\n');
    return;
  }
  if (!values.scenario) fail('--scenario <file.json> is required');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(values.scenario, 'utf8'));
  } catch (err) {
    fail(`cannot read scenario '${values.scenario}': ${(err as Error).message}`);
  }
  const parsed = parseScenario(raw);
  if (!parsed.ok) fail(`invalid scenario '${values.scenario}':\n  ${parsed.errors.join('\n  ')}`);
  let runs: number | undefined;
  if (values.runs !== undefined) {
    runs = Number(values.runs);
    if (!Number.isInteger(runs) || runs < 1) fail(`--runs must be a positive integer, got '${values.runs}'`);
  }
  const started = performance.now();
  const result = simulateScenario(parsed.scenario, { runs });
  const elapsedMs = Math.round(performance.now() - started);
  if (!values.json) process.stdout.write(formatTable(result, elapsedMs));
  process.stdout.write(JSON.stringify({ ...result, elapsedMs }) + '\n');
}

function formatTable(r: ScenarioResult, elapsedMs: number): string {
  const title = `scenario ${r.scenario}: horizon ${r.horizon}, batch ${r.batchSize}, best arm ${r.bestArm} (${elapsedMs} ms)`;
  return [title, ...alignColumns(POLICY_COLUMNS, r.policies.map(policyCells))].join('\n') + '\n';
}

main();
