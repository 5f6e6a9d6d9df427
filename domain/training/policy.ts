/**
 * Training policy per entity × model type: how often it is retrained (an interval or a cron
 * expression), who trains it (a BullMQ job or a webhook to the user's trainer), on which dataset,
 * which candidates each run trains, and the comparison their versions enter. Each policy owns one
 * Temporal Schedule, named by `trainingScheduleId`.
 */
import { z } from 'zod';
import { fnv1a32 } from '../assignment/hash.js';
import { experimentConfigSchema } from '../experiment/config.js';

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:\/-]{0,99}$/, 'use up to 100 letters, digits or _ . : / -');

const DURATION = /^(\d{1,7})(s|m|h|d)$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Milliseconds of a duration such as '90s', '30m', '6h' or '7d'; null when it is not one. */
export function durationMs(text: string): number | null {
  const m = DURATION.exec(text);
  if (!m?.[1] || !m[2]) return null;
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

// Five fields (minute hour day-of-month month day-of-week) of digits, names, * , - /. Temporal
// parses the expression itself when the schedule is written; this only rejects what is clearly not one.
const CRON = /^\s*[\w*,\/-]+(\s+[\w*,\/-]+){4}\s*$/;

const MIN_INTERVAL_MS = 60_000;
const MAX_INTERVAL_MS = 366 * 86_400_000;

export const frequencySchema = z
  .object({
    /** Retrain every interval: '30m', '6h', '7d' (at least one minute). */
    every: z
      .string()
      .refine((s) => {
        const ms = durationMs(s);
        return ms !== null && ms >= MIN_INTERVAL_MS && ms <= MAX_INTERVAL_MS;
      }, 'an interval such as 30m, 6h or 7d (from 1m to 366d)')
      .optional(),
    /** Or on a cron expression (UTC): '0 3 * * *'. */
    cron: z.string().max(200).regex(CRON, 'a five-field cron expression such as "0 3 * * *"').optional(),
  })
  .strict()
  .refine((f) => (f.every === undefined) !== (f.cron === undefined), { message: 'give exactly one of every or cron' });

export const trainerSchema = z.discriminatedUnion('kind', [
  /** A job on this BullMQ queue (expflow's Redis) for the user's training worker. */
  z.object({ kind: z.literal('bullmq'), queue: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/, 'a queue name of letters, digits, _ . -') }).strict(),
  /** A signed POST to the user's trainer (x-expflow-signature, as for notification webhooks). */
  z.object({ kind: z.literal('webhook'), url: z.url({ protocol: /^https?$/ }) }).strict(),
]);

const datasetSchema = z
  .object({
    id: name,
    /** What the trainer does to the raw data before training; part of the fingerprint. */
    transform: z.record(z.string(), z.unknown()).default({}),
    /** The caller's own fingerprint of the transformed data; default: a hash of id and transform. */
    fingerprint: z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'up to 128 letters, digits or _ . : -').optional(),
  })
  .strict();

const candidateSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'use 1-40 letters, digits, dashes or underscores'),
    params: z.record(z.string(), z.unknown()).default({}),
    /** Its own dataset; default the policy's. */
    dataset: datasetSchema.optional(),
  })
  .strict();

export const trainingPolicySchema = z
  .object({
    frequency: frequencySchema,
    trainer: trainerSchema,
    dataset: datasetSchema,
    /** What each run trains: one new version per candidate, all compared with the champion at once. */
    candidates: z
      .array(candidateSchema)
      .min(1)
      .max(8)
      .refine((c) => new Set(c.map((x) => x.name)).size === c.length, 'candidate names must be unique')
      .default([{ name: 'default', params: {} }]),
    /** The comparison's experiment config; default: the last comparison's of this entity × model type. */
    comparison: experimentConfigSchema.optional(),
    /** How long a run waits for the trainer to register the new versions. */
    waitForVersionsSeconds: z.number().int().min(5).max(7 * 86_400).default(6 * 3_600),
    owner: z.string().min(1).max(200).default('training-scheduler'),
  })
  .strict();

export type TrainingPolicyInput = z.infer<typeof trainingPolicySchema>;
export type Frequency = z.infer<typeof frequencySchema>;
export type Trainer = z.infer<typeof trainerSchema>;
export type DatasetRef = z.infer<typeof datasetSchema>;

/** What the TrainingPolicy row's spec column holds (the rest of the input has its own columns). */
export const trainingSpecSchema = trainingPolicySchema.pick({ dataset: true, candidates: true, comparison: true, waitForVersionsSeconds: true, owner: true });
export type TrainingSpec = z.infer<typeof trainingSpecSchema>;

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');

/** The Temporal Schedule id of an entity × model type's policy: readable, unique by the hash. */
export function trainingScheduleId(entity: string, modelType: string): string {
  const hash = fnv1a32(`${entity}\u001f${modelType}`).toString(36);
  return `${slug(`retrain-${entity}-${modelType}`).slice(0, 80)}-${hash}`;
}

/** The period between runs when it is fixed (an interval); null for cron (read from the schedule). */
export function fixedPeriodMs(f: Frequency): number | null {
  return f.every === undefined ? null : durationMs(f.every);
}
