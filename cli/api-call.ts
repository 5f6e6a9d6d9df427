/** Shared by the API-backed CLI commands: send one request, print the JSON answer, map failures to exit codes. */

export class UsageError extends Error {}

export interface ApiCall {
  request: { method: 'GET' | 'POST'; path: string; body?: unknown };
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
export async function runApiCall(prog: string, parse: () => ApiCall): Promise<number> {
  let parsed;
  try {
    parsed = parse();
  } catch (e) {
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
