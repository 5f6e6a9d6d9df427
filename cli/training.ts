/**
 * `expflow training <command>`: the training platform through the API.
 *
 *   models  --entity E                                 an entity's models: versions, last trained, next due
 *   set     --entity E --model-type T --file P.json    create or replace the training policy (and its schedule)
 *   show    --entity E --model-type T                  the policy and its schedule
 *   list    [--entity E]                               every policy
 *   pause | resume | trigger  --entity E --model-type T [--reason R]
 *   delete  --entity E --model-type T                  the policy and its schedule
 *   runs    --entity E [--limit 20]                    recent retraining runs
 *
 * The policy file is checked against the same schema as the API before anything is sent. Exit
 * codes: 0 ok, 2 bad arguments or policy (the message names the option or field), 1 the API refused.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { trainingPolicySchema } from '../domain/training/policy.js';
import { API_OPTIONS, API_OPTIONS_HELP, apiTarget, HelpRequest, runApiCall, UsageError, usageText, type ApiCall } from './api-call.js';

const POLICY = '--entity E --model-type T';
const SUBCOMMANDS = {
  models: ['--entity E', "list an entity's models with when each was last trained and is next due"],
  set: [`${POLICY} --file policy.json`, 'create or replace a training policy and its Temporal Schedule'],
  show: [POLICY, 'show a training policy and its schedule'],
  list: ['[--entity E]', 'list training policies'],
  pause: [`${POLICY} [--reason R]`, "pause the policy's schedule"],
  resume: [`${POLICY} [--reason R]`, "resume the policy's schedule"],
  trigger: [`${POLICY} [--reason R]`, 'start a retraining run now'],
  delete: [POLICY, 'delete the policy and its schedule'],
  runs: ['--entity E [--limit 20]', "list an entity's retraining runs"],
} as const;

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.:\/-]{0,99}$/;

function name(option: string, value: string | undefined): string {
  if (value === undefined) throw new UsageError(`${option}: required`);
  if (!NAME.test(value)) throw new UsageError(`${option}: use up to 100 letters, digits or _ . : / -`);
  return encodeURIComponent(value);
}

function readPolicy(file: string | undefined): unknown {
  if (!file) throw new UsageError('--file: give the policy as a JSON file');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`--file: ${(e as Error).message}`);
  }
  const parsed = trainingPolicySchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`--file: ${issue?.path.join('.') || 'policy'}: ${issue?.message ?? z.prettifyError(parsed.error)}`);
  }
  // The raw form goes to the API, which applies the same defaults.
  return raw;
}

/** Turns argv into one API request, or throws UsageError naming what is wrong. */
function toTrainingRequest(argv: string[]): ApiCall {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...API_OPTIONS,
      entity: { type: 'string' },
      'model-type': { type: 'string' },
      file: { type: 'string' },
      reason: { type: 'string' },
      limit: { type: 'string' },
    },
    strict: true,
  });
  const [command, ...rest] = positionals;
  if (values.help) throw new HelpRequest(usageText('expflow training', SUBCOMMANDS, API_OPTIONS_HELP, command));
  if (command === undefined || !Object.hasOwn(SUBCOMMANDS, command)) throw new UsageError(`command: expected one of ${Object.keys(SUBCOMMANDS).join(', ')}`);
  if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`);
  const { api, headers } = apiTarget(values);
  const policyPath = () => `/training-policies/${name('--entity', values.entity)}/${name('--model-type', values['model-type'])}`;
  const reasonBody = () => (values.reason === undefined ? {} : { reason: values.reason });
  const cmd = command as keyof typeof SUBCOMMANDS;
  switch (cmd) {
    case 'models':
      return { request: { method: 'GET', path: `/entities/${name('--entity', values.entity)}/models` }, api, headers };
    case 'set':
      return { request: { method: 'PUT', path: policyPath(), body: readPolicy(values.file) }, api, headers };
    case 'show':
      return { request: { method: 'GET', path: policyPath() }, api, headers };
    case 'list':
      return { request: { method: 'GET', path: values.entity === undefined ? '/training-policies' : `/training-policies?entity=${name('--entity', values.entity)}` }, api, headers };
    case 'pause':
    case 'resume':
    case 'trigger':
      if (values.reason !== undefined && (values.reason.length < 1 || values.reason.length > 500)) throw new UsageError('--reason: 1 to 500 characters');
      return { request: { method: 'POST', path: `${policyPath()}/${cmd}`, body: reasonBody() }, api, headers };
    case 'delete':
      return { request: { method: 'DELETE', path: policyPath() }, api, headers };
    case 'runs': {
      const limit = values.limit === undefined ? 20 : Number(values.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw new UsageError('--limit: a whole number from 1 to 200');
      return { request: { method: 'GET', path: `/training-runs?entity=${name('--entity', values.entity)}&limit=${limit}` }, api, headers };
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await runApiCall('expflow training', () => toTrainingRequest(process.argv.slice(2)));
}
