/**
 * `expflow experiments <command>`: start and steer experiments through the API.
 *
 * The subcommands and their arguments are in SUBCOMMANDS (what `--help` prints). Prints the API's JSON. Exit codes: 0 ok, 2 bad arguments (the message names
 * the option), 1 the API refused (its error message is printed) or could not be reached.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { API_OPTIONS, API_OPTIONS_HELP, apiTarget, HelpRequest, runApiCall, UsageError, usageText, type ApiCall } from './api-call.js';

const SUBCOMMANDS = {
  list: ['[--status draft|running|paused|concluded|stopped]', 'list experiments'],
  get: ['<key>', "an experiment's definition and live status"],
  decisions: ['<key>', "an experiment's decisions, newest first"],
  create: ['--file experiment.json', 'create and start an experiment'],
  pause: ['<key> [--reason r]', 'pause: serve control only, stop cycles'],
  resume: ['<key> [--reason r]', 'resume a paused experiment'],
  stop: ['<key> --reason r', 'stop: serve control only, for good'],
  'run-cycle': ['<key> [--reason r]', 'run a decision cycle now and wait for it'],
  override: ['<key> (--weights control=0.7,b=0.3 | --clear) [--reason r]', 'set or clear a manual allocation'],
  conclude: ['<key> [--winner b] [--reason r]', 'conclude, serving the winner to everyone'],
} as const;
const OPTIONS_HELP = API_OPTIONS_HELP.replace('  --token T', '  --actor NAME   who is acting, for the audit log\n  --token T');

const COMMANDS = ['list', 'get', 'decisions', 'create', 'pause', 'resume', 'stop', 'run-cycle', 'override', 'conclude'] as const;
type Command = (typeof COMMANDS)[number];
const KEY = /^[a-z0-9][a-z0-9-]{1,62}$/;

type Request = ApiCall['request'];

/** Turns argv into one API request, or throws UsageError naming what is wrong. */
function toRequest(argv: string[]): { request: Request; api: string; headers: Record<string, string> } {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...API_OPTIONS,
      actor: { type: 'string' },
      status: { type: 'string' },
      file: { type: 'string' },
      reason: { type: 'string' },
      weights: { type: 'string' },
      clear: { type: 'boolean' },
      winner: { type: 'string' },
    },
    strict: true,
  });
  const [command, key, ...rest] = positionals;
  if (values.help) throw new HelpRequest(usageText('expflow experiments', SUBCOMMANDS, OPTIONS_HELP, command));
  if (!command || !(COMMANDS as readonly string[]).includes(command)) throw new UsageError(`command: expected one of ${COMMANDS.join(', ')}`);
  if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`);
  const cmd = command as Command;
  const needsKey = cmd !== 'list' && cmd !== 'create';
  if (needsKey && (!key || !KEY.test(key))) throw new UsageError('key: give the experiment key (2-63 lowercase letters, digits or dashes)');
  if (!needsKey && key) throw new UsageError(`unexpected argument '${key}'`);
  const { api, headers } = apiTarget(values);
  const withReason = (body: Record<string, unknown> = {}) => (values.reason ? { ...body, reason: values.reason } : body);

  const request = ((): Request => {
    switch (cmd) {
      case 'list': {
        const statuses = ['draft', 'running', 'paused', 'concluded', 'stopped'];
        if (values.status && !statuses.includes(values.status)) throw new UsageError(`--status: expected one of ${statuses.join(', ')}`);
        return { method: 'GET', path: `/experiments${values.status ? `?status=${values.status}` : ''}` };
      }
      case 'get':
        return { method: 'GET', path: `/experiments/${key}` };
      case 'decisions':
        return { method: 'GET', path: `/experiments/${key}/decisions` };
      case 'create': {
        if (!values.file) throw new UsageError('--file: give the experiment definition as a JSON file');
        let body: unknown;
        try {
          body = JSON.parse(readFileSync(values.file, 'utf8'));
        } catch (e) {
          throw new UsageError(`--file: cannot read JSON from '${values.file}' (${(e as Error).message})`);
        }
        return { method: 'POST', path: '/experiments', body };
      }
      case 'pause':
      case 'resume':
      case 'run-cycle':
        return { method: 'POST', path: `/experiments/${key}/${cmd}`, body: withReason() };
      case 'stop':
        if (!values.reason) throw new UsageError('--reason: stopping an experiment needs a reason');
        return { method: 'POST', path: `/experiments/${key}/stop`, body: withReason() };
      case 'override': {
        if (values.clear && values.weights) throw new UsageError('--clear: give either --weights or --clear');
        if (values.clear) return { method: 'POST', path: `/experiments/${key}/allocation`, body: withReason({ clear: true }) };
        if (!values.weights) throw new UsageError('--weights: give variant=weight pairs, e.g. control=0.7,b=0.3 (or --clear)');
        return { method: 'POST', path: `/experiments/${key}/allocation`, body: withReason({ weights: parseWeights(values.weights) }) };
      }
      case 'conclude':
        return { method: 'POST', path: `/experiments/${key}/conclude`, body: withReason(values.winner ? { winner: values.winner } : {}) };
    }
  })();
  return { request, api, headers };
}

function parseWeights(s: string): Record<string, number> {
  const out = new Map<string, number>();
  for (const pair of s.split(',')) {
    const m = /^([A-Za-z0-9_-]+)=([0-9]*\.?[0-9]+)$/.exec(pair.trim());
    const [, variant, weight] = m ?? [];
    if (variant === undefined || weight === undefined) throw new UsageError(`--weights: '${pair}' is not variant=weight`);
    if (out.has(variant)) throw new UsageError(`--weights: '${variant}' is given twice`);
    out.set(variant, Number(weight));
  }
  // fromEntries defines own properties, so a variant named __proto__ is sent rather than dropped.
  return Object.fromEntries(out);
}

/**
 * The definition given to `create` is this command's input: refuse it here, naming the field, as the
 * API would (exit 2, nothing sent). The schema is loaded only for `create`, to keep the others quick.
 */
async function checkDefinition(body: unknown): Promise<void> {
  const { createExperimentSchema } = await import('../domain/experiment/config.js');
  const checked = createExperimentSchema.safeParse(body);
  if (checked.success) return;
  const issue = checked.error.issues[0];
  const field = issue?.path.reduce<string>((out, k) => (typeof k === 'number' ? `${out}[${k}]` : out ? `${out}.${String(k)}` : String(k)), '') || 'body';
  throw new UsageError(`--file: ${field}: ${issue?.message ?? 'invalid experiment definition'}`);
}

process.exitCode = await runApiCall('expflow experiments', async () => {
  const call = toRequest(process.argv.slice(2));
  if (call.request.method === 'POST' && call.request.path === '/experiments') await checkDefinition(call.request.body);
  return call;
});
