/** Runs the expflow CLI (bin/expflow.js) in a process of its own, as a user would, from the checkout's root. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface CliRun {
  /** The exit code (0 on success). */
  code: number;
  stdout: string;
  stderr: string;
}

/** `env` adds to (or overrides) this process's environment. */
export async function runExpflow(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  try {
    const { stdout, stderr } = await exec(process.execPath, ['bin/expflow.js', ...args], { env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as CliRun;
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}
