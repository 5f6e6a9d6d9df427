#!/usr/bin/env node
// Entry point for `npx expflow <command>`. Runs the built cli/<command>.js from dist/ when present
// (the production image), otherwise cli/<command>.ts through tsx (a checkout; no build step needed).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const commands = {
  analyze: 'analyse an experiment from summary statistics in a JSON file',
  simulate: 'compare allocation policies on a simulated scenario',
  experiments: 'create, list and steer experiments through the API',
  'dead-letters': 'list, replay or drop events that could not be ingested',
  units: 'forget a unit: delete every row and Redis key it left',
  evaluate: 'offline evaluation: datasets, running windows, replay of decisions, off-policy estimates',
  keys: 'create, list or revoke API keys (shown once; stored hashed)',
  training: "training policies and their schedules; an entity's models, last trained and next due",
};
const usage = [
  'usage: expflow <command> [options]',
  '',
  'commands:',
  ...Object.entries(commands).map(([name, what]) => `  ${name.padEnd(12)} ${what}`),
  '',
  "Run 'expflow <command> --help' for a command's options.",
  '',
].join('\n');

const [command, ...args] = process.argv.slice(2);
if (command === '--help' || command === '-h' || command === 'help') {
  process.stdout.write(usage);
  process.exit(0);
}
if (!command || !Object.hasOwn(commands, command)) {
  process.stderr.write(command ? `expflow: unknown command '${command}'\n${usage}` : usage);
  process.exit(2);
}
const built = join(root, 'dist', 'cli', `${command}.js`);
const source = join(root, 'cli', `${command}.ts`);
let result;
if (existsSync(built)) {
  result = spawnSync(process.execPath, [built, ...args], { stdio: 'inherit' });
} else if (existsSync(source)) {
  const tsx = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');
  result = spawnSync(process.execPath, [tsx, source, ...args], { stdio: 'inherit' });
} else {
  process.stderr.write(`expflow: command '${command}' is not available in this build\n`);
  process.exit(2);
}
process.exit(result.status ?? 1);
