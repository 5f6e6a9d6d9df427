#!/usr/bin/env node
// Entry point for `npx expflow <command>`: runs cli/<command>.ts through tsx so no build step is needed.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [command, ...args] = process.argv.slice(2);
const commands = ['analyze', 'simulate', 'experiments', 'keys'];
if (!command || !commands.includes(command)) {
  process.stderr.write(`usage: expflow <${commands.join('|')}> [options]\n`);
  process.exit(2);
}
const script = join(root, 'cli', `${command}.ts`);
if (!existsSync(script)) {
  process.stderr.write(`expflow: command '${command}' is not available in this build\n`);
  process.exit(2);
}
const tsx = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const result = spawnSync(process.execPath, [tsx, script, ...args], { stdio: 'inherit' });
process.exit(result.status ?? 1);
