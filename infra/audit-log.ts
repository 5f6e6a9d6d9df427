/** The audit log: who did what to which experiment, and why. Each entry is written once per dedupe key. */
import type { Prisma } from '../generated/prisma/client.js';
import type { PrismaClient } from './prisma.js';

export interface AuditEntry {
  actor: string;
  action: string;
  target: string;
  reason: string;
  data: Prisma.InputJsonObject;
  /** A retried activity writes the same key: the first write stands. */
  dedupeKey: string;
}

/** Records the entry unless one with its dedupe key exists (returns the query, so it can join a batch transaction). */
export function auditOnce(prisma: PrismaClient, entry: AuditEntry) {
  return prisma.auditLog.upsert({ where: { dedupeKey: entry.dedupeKey }, create: entry, update: {} });
}
