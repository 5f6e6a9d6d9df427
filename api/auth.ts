/**
 * Authentication and authorisation for every route (the Express app and the lean /assign handler):
 * cross-site browser requests are refused on state-changing routes, a bearer key is resolved to its
 * role and scope, the route map (access.ts) decides, and a per-key rate limit is counted in Redis.
 * With no key configured the API serves loopback callers only.
 */
import type { IncomingMessage } from 'node:http';
import type { Redis } from 'ioredis';
import { type Permission, type Role, roleGrants, routePermission } from './access.js';
import { ApiError } from './errors.js';
import type { KeyStore } from './keys.js';

export interface Principal {
  /** Who the audit log names: `key:<name>`, `token` (API_TOKEN) or `local` (loopback, no keys). */
  actor: string;
  role: Role | 'anonymous';
  keyId?: string;
  /** Empty: all. */
  experiments: string[];
  entities: string[];
}

const ANONYMOUS: Principal = { actor: 'anonymous', role: 'anonymous', experiments: [], entities: [] };
/** Requests per minute per key when the key sets none (assign keys are unlimited by default). */
const DEFAULT_RATE: Record<Role, number | null> = { admin: 6_000, operator: 6_000, read: 6_000, ingest: 60_000, assign: null };
const RATE_TIMEOUT_MS = 100;

export function isLoopback(addr: string | undefined): boolean {
  return !!addr && (addr === '::1' || addr.startsWith('127.') || addr.startsWith('::ffff:127.'));
}

export function canTouchExperiment(p: Principal, key: string): boolean {
  return p.experiments.length === 0 || p.experiments.includes(key);
}
export function canTouchEntity(p: Principal, entity: string | undefined): boolean {
  return p.entities.length === 0 || (entity !== undefined && p.entities.includes(entity));
}

export class Authenticator {
  constructor(
    private readonly keys: KeyStore,
    private readonly redis: Redis,
    private readonly opts: { apiToken?: string; allowedOrigins?: string[] } = {},
  ) {}

  async authorize(req: IncomingMessage): Promise<Principal> {
    const route = routePermission(req.method ?? 'GET', req.url ?? '/');
    if (route.needs === 'public') return ANONYMOUS;
    this.refuseCrossSite(req, route.needs);

    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const configured = !!this.opts.apiToken || (await this.keys.anyActive());
    let principal: Principal;
    if (!configured) {
      if (!isLoopback(req.socket.remoteAddress)) {
        throw new ApiError(401, 'unauthorized', 'authorization: no API keys are configured, so only loopback callers are served; create one with `npx expflow keys create`');
      }
      principal = { actor: 'local', role: 'admin', experiments: [], entities: [] };
    } else if (!bearer) {
      throw new ApiError(401, 'unauthorized', 'authorization: missing bearer key', null, { 'www-authenticate': 'Bearer' });
    } else if (this.opts.apiToken && bearer === this.opts.apiToken) {
      principal = { actor: 'token', role: 'admin', experiments: [], entities: [] };
    } else {
      const key = await this.keys.find(bearer);
      if (!key) throw new ApiError(401, 'unauthorized', 'authorization: unknown or revoked key', null, { 'www-authenticate': 'Bearer' });
      principal = { actor: `key:${key.name}`, role: key.role, keyId: key.id, experiments: key.experiments, entities: key.entities };
      await this.rateLimit(key.id, key.rateLimitPerMinute ?? DEFAULT_RATE[key.role]);
    }
    if (principal.role !== 'anonymous' && !roleGrants(principal.role, route.needs)) {
      throw new ApiError(403, 'forbidden', `authorization: role '${principal.role}' may not ${req.method} ${req.url?.split('?')[0]}`);
    }
    // Object-level authorisation: a key scoped to other experiments learns nothing about this one.
    const key = route.params.key;
    if (key !== undefined && !canTouchExperiment(principal, key)) {
      throw new ApiError(404, 'not_found', `key: no experiment '${key}'`);
    }
    return principal;
  }

  /** CSRF: browsers label cross-site requests (Sec-Fetch-Site, Origin); state changes refuse them. */
  private refuseCrossSite(req: IncomingMessage, needs: Permission): void {
    const method = req.method ?? 'GET';
    if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS' || needs === 'assign' || needs === 'ingest') return;
    const site = req.headers['sec-fetch-site'];
    if (site === 'cross-site' || site === 'same-site') throw new ApiError(403, 'cross_origin', `origin: cross-site requests may not call ${req.url?.split('?')[0]}`);
    const origin = req.headers.origin;
    if (origin && origin !== 'null') {
      let host: string;
      try {
        host = new URL(origin).host;
      } catch {
        throw new ApiError(403, 'cross_origin', 'origin: not a valid origin');
      }
      if (host !== req.headers.host && !this.opts.allowedOrigins?.includes(origin)) {
        throw new ApiError(403, 'cross_origin', `origin: ${origin} may not call ${req.url?.split('?')[0]}`);
      }
    } else if (origin === 'null') {
      throw new ApiError(403, 'cross_origin', 'origin: opaque origins may not call the control plane');
    }
  }

  /** Fixed one-minute window per key in Redis; if Redis cannot answer in time the call is let through. */
  private async rateLimit(keyId: string, perMinute: number | null): Promise<void> {
    if (!perMinute) return;
    const now = Date.now();
    const window = Math.floor(now / 60_000);
    const rk = `expflow:ratelimit:${keyId}:${window}`;
    let count: number;
    try {
      const res = await Promise.race([
        this.redis.multi().incr(rk).pexpire(rk, 61_000).exec(),
        new Promise<null>((r) => setTimeout(() => r(null), RATE_TIMEOUT_MS).unref()),
      ]);
      if (!res) return;
      const incr = res[0];
      if (!incr) return;
      count = Number(incr[1]);
    } catch {
      return;
    }
    if (count > perMinute) {
      const retry = Math.max(1, Math.ceil(((window + 1) * 60_000 - now) / 1000));
      throw new ApiError(429, 'rate_limited', `authorization: key over its limit of ${perMinute} requests per minute`, null, { 'retry-after': String(retry) });
    }
  }
}
