/**
 * `expflow units delete <unitId>`: forgets a unit through the API (DELETE /units/:unitId) and prints
 * the counts of what was removed.
 *
 * Options: --api URL (default $EXPFLOW_API_URL or http://127.0.0.1:3000), --actor NAME, --token T
 * (default $API_TOKEN). Exit codes: 0 ok, 2 bad arguments (the message names the option or
 * argument), 1 the API refused (its message is printed) or could not be reached.
 */
import { parseArgs } from 'node:util';

class UsageError extends Error {}

/** Turns argv into the request, or throws UsageError naming what is wrong. */
function toRequest(argv: string[]): { url: string; headers: Record<string, string> } {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { api: { type: 'string' }, actor: { type: 'string' }, token: { type: 'string' } },
    strict: true,
  });
  const [command, unitId, ...rest] = positionals;
  if (command !== 'delete') throw new UsageError('command: expected delete');
  if (!unitId) throw new UsageError('unitId: give the unit id to delete');
  if (unitId.length > 200) throw new UsageError('unitId: at most 200 characters');
  if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`);
  const api = values.api ?? process.env.EXPFLOW_API_URL ?? 'http://127.0.0.1:3000';
  try {
    new URL(api);
  } catch {
    throw new UsageError(`--api: '${api}' is not a URL`);
  }
  const headers: Record<string, string> = {};
  const token = values.token ?? process.env.API_TOKEN;
  if (token) headers.authorization = `Bearer ${token}`;
  if (values.actor) headers['x-actor'] = values.actor;
  return { url: `${api.replace(/\/$/, '')}/units/${encodeURIComponent(unitId)}`, headers };
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = toRequest(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`expflow units: ${(e as Error).message}\n`);
    return 2;
  }
  let res: Response;
  try {
    res = await fetch(parsed.url, { method: 'DELETE', headers: parsed.headers });
  } catch (e) {
    process.stderr.write(`expflow units: cannot reach the API (${(e as Error).message})\n`);
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
    process.stderr.write(`expflow units: ${res.status} ${message}\n`);
    return 1;
  }
  process.stdout.write(`${JSON.stringify(JSON.parse(text), null, 2)}\n`);
  return 0;
}

process.exitCode = await main();
