/**
 * Who may call what: one declarative table from route to the permission it needs, and the
 * permissions each role holds. A route missing from the table needs `admin` once keys exist, so a
 * route added later is closed until someone maps it here.
 */
import { ApiError } from './errors.js';
import { findUnstorableText } from './storable-text.js';

export const ROLES = ['admin', 'operator', 'ingest', 'assign', 'read'] as const;
export type Role = (typeof ROLES)[number];

export type Permission = 'public' | 'assign' | 'ingest' | 'read' | 'operate' | 'admin';

const GRANTS: Record<Role, ReadonlySet<Permission>> = {
  admin: new Set(['assign', 'ingest', 'read', 'operate', 'admin']),
  operator: new Set(['read', 'operate']),
  ingest: new Set(['ingest']),
  assign: new Set(['assign']),
  read: new Set(['read']),
};

export function roleGrants(role: Role, needed: Permission): boolean {
  return needed === 'public' || GRANTS[role].has(needed);
}

interface RouteRule {
  method: string;
  /** Path with `:param` segments. */
  path: string;
  needs: Permission;
}

/** The route map. Order does not matter: paths are matched segment by segment. */
export const ROUTE_PERMISSIONS: readonly RouteRule[] = [
  { method: 'GET', path: '/health', needs: 'public' },
  { method: 'GET', path: '/ready', needs: 'public' },
  { method: 'GET', path: '/openapi.json', needs: 'public' },
  { method: 'GET', path: '/docs', needs: 'public' },
  { method: 'POST', path: '/assign', needs: 'assign' },
  { method: 'POST', path: '/events', needs: 'ingest' },
  { method: 'POST', path: '/experiments/:key/external-context', needs: 'ingest' },
  { method: 'GET', path: '/experiments', needs: 'read' },
  { method: 'GET', path: '/experiments/:key', needs: 'read' },
  { method: 'GET', path: '/experiments/:key/decisions', needs: 'read' },
  { method: 'GET', path: '/experiments/:key/report', needs: 'read' },
  { method: 'GET', path: '/models', needs: 'read' },
  { method: 'POST', path: '/experiments', needs: 'operate' },
  { method: 'POST', path: '/experiments/:key/pause', needs: 'operate' },
  { method: 'POST', path: '/experiments/:key/resume', needs: 'operate' },
  { method: 'POST', path: '/experiments/:key/stop', needs: 'operate' },
  { method: 'POST', path: '/experiments/:key/allocation', needs: 'operate' },
  { method: 'POST', path: '/experiments/:key/run-cycle', needs: 'operate' },
  { method: 'POST', path: '/experiments/:key/conclude', needs: 'operate' },
  { method: 'POST', path: '/models', needs: 'operate' },
  { method: 'POST', path: '/experiments/:key/arms/reenable', needs: 'operate' },
  { method: 'POST', path: '/experiments/:key/srm/acknowledge', needs: 'operate' },
  { method: 'POST', path: '/models/promote', needs: 'operate' },
  { method: 'GET', path: '/models/shadow-scores', needs: 'read' },
  { method: 'POST', path: '/predictions', needs: 'ingest' },
  { method: 'GET', path: '/dead-letters', needs: 'read' },
  { method: 'POST', path: '/dead-letters/replay', needs: 'operate' },
  { method: 'GET', path: '/admin/keys', needs: 'admin' },
  { method: 'POST', path: '/admin/keys', needs: 'admin' },
  { method: 'DELETE', path: '/admin/keys/:id', needs: 'admin' },
  // Read side (reports, dashboard, metrics). The dashboard's static files hold no data; its pages
  // call the API with the key the user pastes in.
  { method: 'GET', path: '/', needs: 'public' },
  { method: 'GET', path: '/dashboard', needs: 'public' },
  { method: 'GET', path: '/dashboard/*', needs: 'public' },
  { method: 'GET', path: '/metrics', needs: 'read' },
  { method: 'GET', path: '/entities/:entity/report', needs: 'read' },
  { method: 'GET', path: '/reports/experiments', needs: 'read' },
  { method: 'GET', path: '/reports/entities', needs: 'read' },
  // External context and privacy.
  { method: 'POST', path: '/context', needs: 'ingest' },
  { method: 'POST', path: '/context/sources', needs: 'operate' },
  { method: 'GET', path: '/context/sources', needs: 'read' },
  { method: 'DELETE', path: '/context/sources/:key', needs: 'operate' },
  { method: 'GET', path: '/context/signals', needs: 'read' },
  { method: 'DELETE', path: '/units/:unitId', needs: 'admin' },
  // Training platform.
  { method: 'PUT', path: '/training-policies/:entity/:modelType', needs: 'operate' },
  { method: 'GET', path: '/training-policies', needs: 'read' },
  { method: 'GET', path: '/training-policies/:entity/:modelType', needs: 'read' },
  { method: 'DELETE', path: '/training-policies/:entity/:modelType', needs: 'operate' },
  { method: 'POST', path: '/training-policies/:entity/:modelType/pause', needs: 'operate' },
  { method: 'POST', path: '/training-policies/:entity/:modelType/resume', needs: 'operate' },
  { method: 'POST', path: '/training-policies/:entity/:modelType/trigger', needs: 'operate' },
  { method: 'GET', path: '/training-runs', needs: 'read' },
  { method: 'GET', path: '/entities/:entity/models', needs: 'read' },
  // Offline evaluation.
  { method: 'POST', path: '/evaluations', needs: 'operate' },
  { method: 'GET', path: '/evaluations/:id', needs: 'read' },
  { method: 'GET', path: '/datasets', needs: 'read' },
  { method: 'GET', path: '/datasets/:id', needs: 'read' },
];

export interface RouteMatch {
  needs: Permission;
  params: Record<string, string>;
  /** False when no rule matched (the default, `admin`, applies). */
  mapped: boolean;
}

/** The permission `method path` needs, with its path parameters. */
export function routePermission(method: string, rawPath: string): RouteMatch {
  const m = method === 'HEAD' ? 'GET' : method;
  const [pathOnly = ''] = rawPath.split('?');
  const parts = (pathOnly.replace(/\/+$/, '') || '/').split('/');
  for (const rule of ROUTE_PERMISSIONS) {
    if (rule.method !== m) continue;
    const pattern = rule.path.split('/');
    // `/prefix/*` matches every path below the prefix.
    if (pattern.at(-1) === '*') {
      if (parts.length >= pattern.length && pattern.slice(0, -1).every((seg, i) => seg === parts[i])) return { needs: rule.needs, params: {}, mapped: true };
      continue;
    }
    if (pattern.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (const [i, seg] of pattern.entries()) {
      const part = parts[i] ?? '';
      if (seg.startsWith(':')) params[seg.slice(1)] = decodePathParam(seg.slice(1), part);
      else ok = seg === part;
      if (!ok) break;
    }
    if (ok) return { needs: rule.needs, params, mapped: true };
  }
  return { needs: 'admin', params: {}, mapped: false };
}

/**
 * A path segment decoded; malformed percent-encoding (`%FF`, a lone surrogate) or text PostgreSQL
 * cannot hold (`%00`) is the caller's 400, before any handler sends it to a query.
 */
function decodePathParam(name: string, raw: string): string {
  let value: string;
  try {
    value = decodeURIComponent(raw);
  } catch {
    throw new ApiError(400, 'invalid_request', `${name}: malformed percent-encoding in the path`);
  }
  if (findUnstorableText(value) !== null) throw new ApiError(400, 'invalid_text', `${name}: contains a NUL character or an unpaired UTF-16 surrogate`);
  return value;
}
