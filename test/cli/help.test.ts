/**
 * Every command and subcommand answers --help with its usage on stdout and exit 0. The commands
 * are read from the top-level help and the subcommands from each command's help, so a new one is
 * covered without editing this test.
 */
import { describe, expect, it } from 'vitest';
import { runExpflow, type CliRun } from '../helpers/cli.js';

/** At most this many CLI processes at once: sixty tsx start-ups together starve a two-core machine. */
const CONCURRENT = 4;
let running = 0;
const waiting: Array<() => void> = [];

async function expflow(...args: string[]): Promise<CliRun> {
  if (running >= CONCURRENT) await new Promise<void>((r) => waiting.push(r));
  running++;
  try {
    return await runExpflow(args);
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/** Names listed under "commands:" in a help text (first word of each indented line). */
function listedCommands(help: string): string[] {
  const block = help.split(/^commands:\n/m)[1] ?? '';
  return block.split('\n\n')[0]!.split('\n').map((l) => /^ {2}(\S+)/.exec(l)?.[1]).filter((c): c is string => c !== undefined);
}

describe('expflow --help', () => {
  it('lists the commands and exits 0; an unknown command exits 2 with the usage', async () => {
    const top = await expflow('--help');
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/^usage: expflow <command>/);
    expect(listedCommands(top.stdout)).toEqual(['analyze', 'simulate', 'experiments', 'dead-letters', 'units', 'evaluate', 'keys', 'training']);
    const bad = await expflow('nope');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown command 'nope'[\s\S]*usage: expflow/);
  }, 180_000);

  it('every command and subcommand answers --help with its usage and exit 0', async () => {
    const commands = listedCommands((await expflow('--help')).stdout);
    const checked: string[] = [];
    await Promise.all(
      commands.map(async (command) => {
        const r = await expflow(command, '--help');
        expect(r.code, `${command} --help: ${r.stderr}`).toBe(0);
        expect(r.stdout).toMatch(new RegExp(`^usage: expflow ${command}\\b`));
        checked.push(command);
        const subcommands = listedCommands(r.stdout);
        await Promise.all(
          subcommands.map(async (sub) => {
            const r = await expflow(command, sub, '--help');
            expect(r.code, `${command} ${sub} --help: ${r.stderr}`).toBe(0);
            expect(r.stdout).toMatch(new RegExp(`^usage: expflow ${command} ${sub}\\b`));
            checked.push(`${command} ${sub}`);
          }),
        );
      }),
    );
    // experiments has ten subcommands; all of them were asked.
    expect(checked.filter((c) => c.startsWith('experiments ')).sort()).toEqual(
      ['conclude', 'create', 'decisions', 'get', 'list', 'override', 'pause', 'resume', 'run-cycle', 'stop'].map((s) => `experiments ${s}`),
    );
    expect(checked).toContain('training models');
    // About 60 tsx processes, four at a time: on a loaded 2-core machine that takes minutes.
  }, 400_000);
});
