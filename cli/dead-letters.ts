/**
 * `expflow dead-letters <command>`: queue items Postgres refused, kept with the reason.
 *
 *   list [--limit 100] [--after ID] [--all]      (--all includes those already replayed)
 *   replay --id 12,13 | replay --all [--limit N]  (puts them back on the ingest queue)
 *
 * Options: --api URL (default $EXPFLOW_API_URL or http://127.0.0.1:3000), --token T (default
 * $API_TOKEN). Prints the API's JSON. Exit codes: 0 ok, 2 bad arguments (the message names the
 * option), 1 the API refused (its error message is printed) or could not be reached.
 */
import { parseArgs } from 'node:util';
import { API_OPTIONS, API_OPTIONS_HELP, apiTarget, HelpRequest, runApiCall, UsageError, usageText, type ApiCall } from './api-call.js';

const SUBCOMMANDS = {
  list: ['[--limit 100] [--after ID] [--all]', 'list dead letters (--all includes those already replayed)'],
  replay: ['--id 12,13 | --all [--limit N]', 'put them back on the ingest queue'],
} as const;

const ID = /^\d{1,19}$/;

/** Turns argv into one API request, or throws UsageError naming what is wrong. */
function toDeadLetterRequest(argv: string[]): ApiCall {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...API_OPTIONS,
      limit: { type: 'string' },
      after: { type: 'string' },
      id: { type: 'string' },
      all: { type: 'boolean' },
    },
    strict: true,
  });
  const [command, ...rest] = positionals;
  if (values.help) throw new HelpRequest(usageText('expflow dead-letters', SUBCOMMANDS, API_OPTIONS_HELP, command));
  if (command !== 'list' && command !== 'replay') throw new UsageError('command: expected list or replay');
  if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`);
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new UsageError('--limit: a positive whole number');
  const { api, headers } = apiTarget(values);
  if (command === 'list') {
    if (values.id) throw new UsageError('--id: only for replay');
    if (values.after !== undefined && !ID.test(values.after)) throw new UsageError('--after: a dead-letter id');
    const q = new URLSearchParams();
    if (limit !== undefined) q.set('limit', String(limit));
    if (values.after) q.set('after', values.after);
    if (values.all) q.set('includeReplayed', 'true');
    return { request: { method: 'GET', path: `/dead-letters${q.size ? `?${q}` : ''}` }, api, headers };
  }
  if (values.after) throw new UsageError('--after: only for list');
  if (values.id && values.all) throw new UsageError('--id: give ids or --all, not both');
  if (values.all) return { request: { method: 'POST', path: '/dead-letters/replay', body: { all: true, ...(limit ? { limit } : {}) } }, api, headers };
  if (!values.id) throw new UsageError('--id: give the ids to replay (e.g. --id 12,13) or --all');
  const ids = values.id.split(',').map((s) => s.trim());
  const bad = ids.find((i) => !ID.test(i));
  if (bad !== undefined) throw new UsageError(`--id: '${bad}' is not a dead-letter id`);
  return { request: { method: 'POST', path: '/dead-letters/replay', body: { ids } }, api, headers };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await runApiCall('expflow dead-letters', () => toDeadLetterRequest(process.argv.slice(2)));
}
