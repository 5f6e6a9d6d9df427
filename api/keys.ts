/**
 * API keys, stored as SHA-256 hashes (a key is 32 random bytes, so a fast hash is enough). The key
 * itself is returned once, by `create`. Active keys are held in memory and reloaded every couple of
 * seconds, so checking a request costs a hash and a map lookup.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { PrismaClient } from '../infra/prisma.js';
import type { Role } from './access.js';

const RELOAD_MS = 2_000;

export interface KeyRecord {
  id: string;
  name: string;
  role: Role;
  prefix: string;
  experiments: string[];
  entities: string[];
  rateLimitPerMinute: number | null;
  createdBy: string;
  createdAt: Date;
  revokedAt: Date | null;
}

export const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');

export interface NewKey {
  name: string;
  role: Role;
  experiments?: string[];
  entities?: string[];
  rateLimitPerMinute?: number | null;
  createdBy?: string;
}

const PUBLIC_FIELDS = {
  id: true,
  name: true,
  role: true,
  prefix: true,
  experiments: true,
  entities: true,
  rateLimitPerMinute: true,
  createdBy: true,
  createdAt: true,
  revokedAt: true,
} as const;

export class KeyStore {
  private active: { at: number; byHash: Map<string, KeyRecord> } | null = null;
  private loading: Promise<Map<string, KeyRecord>> | null = null;

  constructor(private readonly prisma: PrismaClient) {}

  /** Creates a key; the returned `key` is the only time it is ever shown. */
  async create(input: NewKey): Promise<KeyRecord & { key: string }> {
    const key = `efk_${randomBytes(32).toString('base64url')}`;
    const row = await this.prisma.apiKey.create({
      data: {
        name: input.name,
        role: input.role,
        prefix: key.slice(0, 12),
        hash: hashKey(key),
        experiments: input.experiments ?? [],
        entities: input.entities ?? [],
        rateLimitPerMinute: input.rateLimitPerMinute ?? null,
        createdBy: input.createdBy ?? '',
      },
      select: PUBLIC_FIELDS,
    });
    this.active = null;
    return { ...(row as KeyRecord), key };
  }

  async list(): Promise<KeyRecord[]> {
    return (await this.prisma.apiKey.findMany({ select: PUBLIC_FIELDS, orderBy: { createdAt: 'asc' } })) as KeyRecord[];
  }

  /** Revokes by id or by the key's prefix; returns the revoked record, or null if none matched. */
  async revoke(idOrPrefix: string): Promise<KeyRecord | null> {
    const isUuid = /^[0-9a-f-]{36}$/i.test(idOrPrefix);
    const row = await this.prisma.apiKey.findFirst({ where: isUuid ? { id: idOrPrefix } : { prefix: idOrPrefix }, select: { id: true, revokedAt: true } });
    if (!row) return null;
    const updated = await this.prisma.apiKey.update({ where: { id: row.id }, data: { revokedAt: row.revokedAt ?? new Date() }, select: PUBLIC_FIELDS });
    this.active = null;
    return updated as KeyRecord;
  }

  /** The active key with this plaintext, or null. */
  async find(key: string): Promise<KeyRecord | null> {
    return (await this.activeKeys()).get(hashKey(key)) ?? null;
  }

  async anyActive(): Promise<boolean> {
    return (await this.activeKeys()).size > 0;
  }

  private async activeKeys(): Promise<Map<string, KeyRecord>> {
    if (this.active && Date.now() - this.active.at < RELOAD_MS) return this.active.byHash;
    this.loading ??= this.prisma.apiKey
      .findMany({ where: { revokedAt: null }, select: { ...PUBLIC_FIELDS, hash: true } })
      .then((rows) => {
        const byHash = new Map(rows.map(({ hash, ...r }) => [hash, r as KeyRecord]));
        this.active = { at: Date.now(), byHash };
        return byHash;
      })
      .catch((e) => {
        // Postgres unreachable: keep using the last known keys rather than locking everyone out.
        if (this.active) return this.active.byHash;
        throw e;
      })
      .finally(() => (this.loading = null));
    return this.loading;
  }
}
