/**
 * `expflow evaluate`: offline evaluation of past and running experiments, straight from the
 * database ($DATABASE_URL, or the local services' .data/env). Every run is recorded
 * (EvaluationRun) with the tracked dataset it read (EvaluationDataset).
 *
 *   --experiment K --window 7d --step 1d [--segments] [--metric M]   running-window effects per arm
 *   --experiment K --replay                                          re-run the decisions cycle by cycle
 *   --experiment K --policy FILE                                     off-policy estimates of FILE's target(s)
 *   --experiment K --what-if                                         …of each arm always, uniform, current
 *   --export (--experiment K | --entity E | --model-version V) [--format ndjson,parquet]
 * Common: --from ISO --to ISO (default: the experiment's start → now) or --dataset ID (a registered
 * dataset, evaluated as exported), --alpha 0.05, --out DIR,
 * --json (machine-readable). Exit codes: 0 ok; 1 replay found a cycle that differs (a bug);
 * 2 bad input (the message names the field).
 */
import { at } from '../domain/at.js';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { EvaluationInputError, runAndRecord, type EvaluationResult } from '../activities/evaluate.js';
import { evaluationRequestSchema, type EvaluationRequest } from '../domain/evaluation/request.js';
import { targetPolicySchema } from '../domain/evaluation/target-policy.js';
import { loadConfig } from '../config.js';
import { createPool } from '../infra/pg.js';
import { createPrisma } from '../infra/prisma.js';

class UsageError extends Error {}

const HELP = `usage: expflow evaluate --experiment KEY [--window 7d --step 1d [--segments] | --replay | --policy FILE | --what-if] [options]
       expflow evaluate --export (--experiment KEY | --entity NAME | --model-version V) [options]

  --window D --step D   running-window comparison of every arm with control (always-valid intervals)
  --segments            also per assignment segment
  --replay              re-run the decision rules offline, cycle by cycle; exit 1 at the first difference
  --policy FILE         off-policy value (IPS, SNIPS, DR) of the target policy (or array of them) in FILE
  --what-if             off-policy value of each arm always, uniform and the current policy
  --export              only export and register the dataset
  --metric KEY          metric to evaluate (default: the primary for --policy, all for --window)
  --from ISO --to ISO   time range of the exposures (default: experiment start → now)
  --format LIST         dataset formats: ndjson,parquet (default both)
  --out DIR             where datasets are written (default $EVALUATION_DATA_DIR or .data/datasets)
  --alpha A             interval level (default 0.05)
  --dataset ID          evaluate a registered dataset instead of exporting the range again
  --json                print JSON instead of a table
`;

/** argv → a validated evaluation request; UsageError names the option or field. */
function parseEvaluateArgs(argv: string[]): { request: EvaluationRequest; json: boolean; out?: string; help: boolean } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: false,
      strict: true,
      options: {
        experiment: { type: 'string' },
        entity: { type: 'string' },
        'model-version': { type: 'string' },
        window: { type: 'string' },
        step: { type: 'string' },
        segments: { type: 'boolean' },
        replay: { type: 'boolean' },
        policy: { type: 'string' },
        'what-if': { type: 'boolean' },
        export: { type: 'boolean' },
        metric: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        format: { type: 'string' },
        out: { type: 'string' },
        alpha: { type: 'string' },
        dataset: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const v = parsed.values;
  if (v.help) return { request: {} as EvaluationRequest, json: false, help: true };
  const modes = (['replay', 'policy', 'what-if', 'export'] as const).filter((m) => v[m] !== undefined && v[m] !== false);
  if (modes.length > 1) throw new UsageError(`--${modes[1]}: give only one of --replay, --policy, --what-if, --export (or --window)`);
  if (modes.length === 1 && (v.window || v.step)) throw new UsageError(`--window: not with --${modes[0]}`);
  const kind = modes[0] === 'replay' ? 'replay' : modes[0] === 'export' ? 'export' : modes[0] === 'policy' || modes[0] === 'what-if' ? 'policy' : 'window';
  let policies: unknown;
  if (v.policy !== undefined) {
    let text: string;
    try {
      text = readFileSync(v.policy, 'utf8');
    } catch {
      throw new UsageError(`--policy: cannot read '${v.policy}'`);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      throw new UsageError(`--policy: '${v.policy}' is not valid JSON`);
    }
    const list = Array.isArray(raw) ? raw : [raw];
    list.forEach((p, i) => {
      const r = targetPolicySchema.safeParse(p);
      if (!r.success) {
        const issue = at(r.error.issues, 0, 'zod issues'); // a failed parse has at least one
        throw new UsageError(`--policy: ${['policy', ...(Array.isArray(raw) ? [String(i)] : []), ...issue.path.map(String)].join('.')}: ${issue.message}`);
      }
    });
    policies = list;
  }
  const alpha = v.alpha === undefined ? undefined : Number(v.alpha);
  const candidate = {
    kind,
    ...(v.experiment !== undefined ? { experiment: v.experiment } : {}),
    ...(v.entity !== undefined ? { entity: v.entity } : {}),
    ...(v['model-version'] !== undefined ? { modelVersion: v['model-version'] } : {}),
    ...(v.window !== undefined ? { window: v.window } : {}),
    ...(v.step !== undefined ? { step: v.step } : {}),
    ...(v.segments ? { segments: true } : {}),
    ...(v.metric !== undefined ? { metric: v.metric } : {}),
    ...(v.from !== undefined ? { from: v.from } : {}),
    ...(v.to !== undefined ? { to: v.to } : {}),
    ...(v.format !== undefined ? { formats: v.format.split(',').map((s) => s.trim()) } : {}),
    ...(alpha !== undefined ? { alpha } : {}),
    ...(v.dataset !== undefined ? { dataset: v.dataset } : {}),
    ...(policies !== undefined ? { policies } : {}),
  };
  const r = evaluationRequestSchema.safeParse(candidate);
  if (!r.success) {
    const issue = at(r.error.issues, 0, 'zod issues');
    const field = issue.path[0] === 'modelVersion' ? 'model-version' : issue.path[0] === 'formats' ? 'format' : String(issue.path[0] ?? 'request');
    throw new UsageError(`--${field}: ${issue.message}`);
  }
  return { request: r.data, json: v.json === true, help: false, ...(v.out !== undefined ? { out: v.out } : {}) };
}

const f = (x: number | null | undefined, d = 4) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(d));
const ci = (c: [number, number] | null | undefined) => (c ? `[${f(c[0])}, ${f(c[1])}]` : '—');

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i] ?? 0)) /* cells beyond the header are not padded */.join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** The table a person reads. */
function formatResult(result: EvaluationResult, runId: string): string {
  const ds = 'dataset' in result ? `dataset ${result.dataset.id}  sha256 ${result.dataset.contentHash}  ${result.dataset.rowCount} rows  ${Object.values(result.dataset.files).join('  ')}\n` : '';
  const footer = `\nrun ${runId}`;
  switch (result.kind) {
    case 'export':
      return ds + footer;
    case 'window':
      return (
        ds +
        `window ${result.window}, step ${result.step}\n` +
        table(
          ['window end', 'segment', 'arm', 'metric', 'n ctrl', 'n arm', 'mean ctrl', 'mean arm', 'effect', 'always-valid CI', 'p'],
          result.rows.map((r) => [r.windowEnd.slice(0, 16), r.segment === null ? 'all' : String(r.segment), r.arm, r.metric, String(r.controlN), String(r.treatmentN), f(r.controlMean), f(r.treatmentMean), f(r.estimate), ci(r.ci), f(r.pValue, 3)]),
        ) +
        footer
      );
    case 'replay': {
      const rep = result.replay;
      const body = table(
        ['cycle', 'online', 'replayed', 'data as of cycle', 'rules on stored cells', ''],
        rep.cycles.map((c) => [String(c.cycle), `${c.online.outcome}${c.online.winner ? ` ${c.online.winner}` : ''}`, `${c.replayed.outcome}${c.replayed.winner ? ` ${c.replayed.winner}` : ''}`, c.dataMatches ? 'same' : 'DIFFERS', c.rulesMatch ? 'same' : 'DIFFERS', c.matches && c.rulesMatch ? 'ok' : 'X']),
      );
      const verdict = rep.firstDifference
        ? `\nFIRST DIFFERENCE at cycle ${rep.firstDifference.cycle} (${rep.firstDifference.cause}): online ${rep.firstDifference.online.outcome}, replayed ${rep.firstDifference.replayed.outcome} — ${rep.firstDifference.replayed.rationale}`
        : `\nreplay reproduces all ${rep.cycles.length} cycles${rep.final ? `; final decision ${rep.final.replayed.outcome}${rep.final.replayed.winner ? ` (${rep.final.replayed.winner})` : ''} at cycle ${rep.final.cycle}` : ''}`;
      return `experiment ${result.experiment}\n${body}${verdict}${footer}`;
    }
    case 'policy': {
      const rows = result.policies.flatMap((p) => p.evaluation.estimates.map((e) => [p.label, e.estimator, f(e.value), ci(e.ci), f(e.standardError), f(e.effectiveSampleSize, 1), String(e.n)]));
      const warnings = result.policies.flatMap((p) => p.evaluation.warningText.map((w) => `  ! ${p.label}: ${w}`));
      const first = result.policies[0]?.evaluation;
      return (
        ds +
        (first ? `metric ${first.metric}: logged mean ${f(first.loggedMean)} over ${first.n} exposures; reward model on ${first.features.join(', ') || '(no context features)'}\n` : '') +
        table(['policy', 'estimator', 'value', 'CI', 'SE', 'ESS', 'n'], rows) +
        (warnings.length ? `\nwarnings:\n${warnings.join('\n')}` : '') +
        footer
      );
    }
    default:
      return JSON.stringify(result satisfies never);
  }
}

/** Runs the CLI; returns the exit code. */
async function main(argv: string[], io: { out: (s: string) => void; err: (s: string) => void } = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) }): Promise<number> {
  let args;
  try {
    args = parseEvaluateArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`expflow evaluate: ${e.message}\n${HELP}`);
      return 2;
    }
    throw e;
  }
  if (args.help) {
    io.out(HELP);
    return 0;
  }
  const config = loadConfig();
  const prisma = createPrisma(config.databaseUrl);
  const pool = createPool(config.databaseUrl, 2);
  try {
    const { runId, result } = await runAndRecord({ prisma, pool, evaluationDataDir: args.out ?? config.evaluationDataDir }, args.request);
    io.out(args.json ? `${JSON.stringify({ runId, ...result })}\n` : `${formatResult(result, runId)}\n`);
    return result.kind === 'replay' && result.replay.firstDifference ? 1 : 0;
  } catch (e) {
    if (e instanceof EvaluationInputError) {
      const option = e.field === 'modelVersion' ? '--model-version' : e.field.startsWith('policies.') ? `--policy: ${e.field}` : `--${e.field}`;
      io.err(`expflow evaluate: ${option}: ${e.message.replace(/^[^:]*: /, '')}\n`);
      return 2;
    }
    if (e instanceof z.ZodError) {
      io.err(`expflow evaluate: ${e.issues[0]?.path.join('.')}: ${e.issues[0]?.message}\n`);
      return 2;
    }
    throw e;
  } finally {
    await prisma.$disconnect();
    await pool.end();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv.slice(2));
}
