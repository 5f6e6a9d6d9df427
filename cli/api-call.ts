/** Shared by the API-backed CLI commands: send one request, print the JSON answer, map failures to exit codes. */

export class UsageError extends Error {}
/** `--help` was asked for: runApiCall prints the message on stdout and exits 0. */
export class HelpRequest extends Error {}

/** Each subcommand's arguments and what it does. */
export type Subcommands = Record<string, readonly [args: string, what: string]>;

/** The parseArgs options every API-backed command takes (API_OPTIONS_HELP describes them). */
export const API_OPTIONS = { api: { type: 'string' }, token: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;

export const API_OPTIONS_HELP = `options:
  --api URL      the API (default $EXPFLOW_API_URL or http://127.0.0.1:3000)
  --token T      bearer token (default $API_TOKEN)
  -h, --help     show this help`;

/** The usage of `prog` (listing its subcommands), or of one subcommand. */
export function usageText(prog: string, subcommands: Subcommands, options: string, sub?: string): string {
  const one = sub !== undefined ? subcommands[sub] : undefined;
  if (sub !== undefined && one) return `usage: ${prog} ${sub} ${one[0]}\n\n${one[1]}.\n\n${options}\n`;
  const lines = Object.entries(subcommands).map(([name, [args]]) => `  ${name.padEnd(10)} ${args}`);
  return `usage: ${prog} <command> [options]\n\ncommands:\n${lines.join('\n')}\n\n${options}\n\nRun '${prog} <command> --help' for one command.\n`;
}

export interface ApiCall {
  request: { method: 'GET' | 'POST' | 'PUT' | 'DELETE'; path: string; body?: unknown };
  api: string;
  headers: Record<string, string>;
}

/** Common options: --api URL (default $EXPFLOW_API_URL or http://127.0.0.1:3000) and --token (default $API_TOKEN). */
export function apiTarget(values: { api?: string; token?: string; actor?: string }): { api: string; headers: Record<string, string> } {
  const api = values.api ?? process.env.EXPFLOW_API_URL ?? 'http://127.0.0.1:3000';
  try {
    new URL(api);
  } catch {
    throw new UsageError(`--api: '${api}' is not a URL`);
  }
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const token = values.token ?? process.env.API_TOKEN;
  if (token) headers.authorization = `Bearer ${token}`;
  if (values.actor) headers['x-actor'] = values.actor;
  return { api: api.replace(/\/$/, ''), headers };
}

/** Exit codes: 0 ok, 2 bad arguments (the message names the option), 1 the API refused or could not be reached. */
export async function runApiCall(prog: string, parse: () => ApiCall | Promise<ApiCall>): Promise<number> {
  let parsed;
  try {
    parsed = await parse();
  } catch (e) {
    if (e instanceof HelpRequest) {
      process.stdout.write(e.message);
      return 0;
    }
    process.stderr.write(`${prog}: ${(e as Error).message}\n`);
    return 2;
  }
  const { request, api, headers } = parsed;
  let res: Response;
  try {
    res = await fetch(`${api}${request.path}`, { method: request.method, headers, body: request.body === undefined ? undefined : JSON.stringify(request.body) });
  } catch (e) {
    process.stderr.write(`${prog}: cannot reach the API at ${api} (${(e as Error).message})\n`);
    return 1;
  }
  const text = await res.text();
  if (!res.ok) {
    let message = text;
    try {
      message = (JSON.parse(text) as { error: { message: string } }).error.message;
    } catch {
      // not our envelope; print it as it came
    }
    process.stderr.write(`${prog}: ${res.status} ${message}\n`);
    return 1;
  }
  process.stdout.write(`${JSON.stringify(JSON.parse(text), null, 2)}\n`);
  return 0;
}
