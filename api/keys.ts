/**
 * API keys, stored as SHA-256 hashes (a key is 32 random bytes, so a fast hash is enough). The key
 * itself is returned once, by `create`. Active keys are held in memory and reloaded every couple of
 * seconds, so checking a request costs a hash and a map lookup.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { PrismaClient } from '../infra/prisma.js';
import type { Role } from './access.js';
import { ApiError } from './errors.js';

const RELOAD_MS = 2_000;
const LOAD_TIMEOUT_MS = 5_000;

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
  /** Bumped by every create and revoke: a load begun before one must not install what it read. */
  private generation = 0;

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
    this.loading = null; // a load begun before this write would not see it
    this.generation++;
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
    this.loading = null;
    this.generation++;
    return updated as KeyRecord;
  }

  /** The active key with this plaintext, or null. */
  async find(key: string): Promise<KeyRecord | null> {
    return (await this.activeKeys()).get(hashKey(key)) ?? null;
  }

  async anyActive(): Promise<boolean> {
    return (await this.activeKeys()).size > 0;
  }

  /**
   * The active keys. Once loaded they answer at once: a reload due every RELOAD_MS runs behind
   * them, so a Postgres that does not answer (frozen, a half-open link) no longer holds every
   * request, /assign and /events included, behind it. Only a process with no keys in hand (at
   * start, or just after it created or revoked one) waits, for at most LOAD_TIMEOUT_MS.
   */
  private async activeKeys(): Promise<Map<string, KeyRecord>> {
    if (this.active && Date.now() - this.active.at < RELOAD_MS) return this.active.byHash;
    const load = (this.loading ??= this.load());
    if (this.active) {
      load.catch(() => {}); // its failure is the next waiter's; the known keys answer now
      return this.active.byHash;
    }
    return load;
  }

  private load(): Promise<Map<string, KeyRecord>> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ApiError(503, 'postgres_unavailable', `API keys could not be read: PostgreSQL did not answer within ${LOAD_TIMEOUT_MS / 1000} s; retry`, null, { 'retry-after': '5' })), LOAD_TIMEOUT_MS);
    });
    const generation = this.generation;
    const query = this.prisma.apiKey.findMany({ where: { revokedAt: null }, select: { ...PUBLIC_FIELDS, hash: true } }).then((rows) => {
      const byHash = new Map(rows.map(({ hash, ...r }) => [hash, r as KeyRecord]));
      if (generation === this.generation) this.active = { at: Date.now(), byHash };
      return byHash;
    });
    const loading: Promise<Map<string, KeyRecord>> = Promise.race([query, timeout])
      .catch((e: unknown) => {
        // Postgres unreachable: keep using the last known keys rather than locking everyone out.
        if (this.active) return this.active.byHash;
        throw e;
      })
      .finally(() => {
        clearTimeout(timer);
        if (this.loading === loading) this.loading = null;
      });
    return loading;
  }
}
