/**
 * `expflow units delete <unitId>`: forgets a unit through the API (DELETE /units/:unitId) and prints
 * the counts of what was removed.
 *
 * Options: --api URL (default $EXPFLOW_API_URL or http://127.0.0.1:3000), --actor NAME, --token T
 * (default $API_TOKEN). Exit codes: 0 ok, 2 bad arguments (the message names the option or
 * argument), 1 the API refused (its message is printed) or could not be reached.
 */
import { parseArgs } from 'node:util';
import { API_OPTIONS, API_OPTIONS_HELP, apiTarget, HelpRequest, runApiCall, UsageError, usageText, type ApiCall } from './api-call.js';

const SUBCOMMANDS = {
  delete: ['<unitId> [--actor NAME]', "delete every row and Redis key the unit left, and print the counts"],
} as const;

/** Turns argv into the request, or throws UsageError naming what is wrong. */
function toUnitsRequest(argv: string[]): ApiCall {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...API_OPTIONS, actor: { type: 'string' } },
    strict: true,
  });
  const [command, unitId, ...rest] = positionals;
  if (values.help) throw new HelpRequest(usageText('expflow units', SUBCOMMANDS, API_OPTIONS_HELP, command));
  if (command !== 'delete') throw new UsageError('command: expected delete');
  if (!unitId) throw new UsageError('unitId: give the unit id to delete');
  if (unitId.length > 200) throw new UsageError('unitId: at most 200 characters');
  if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`);
  const { api, headers } = apiTarget(values);
  return { request: { method: 'DELETE', path: `/units/${encodeURIComponent(unitId)}` }, api, headers };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await runApiCall('expflow units', () => toUnitsRequest(process.argv.slice(2)));
}
