/**
 * What raw context may be stored. Every attribute is classified:
 * - `allowed`: stored as sent;
 * - `coarsened`: always stored coarsened (or dropped when it cannot be coarsened);
 * - `consent`: stored raw only when the unit consented, otherwise coarsened, or dropped when the
 *   attribute has no coarsening.
 * Attribute names match case-insensitively. Unlisted attributes take `defaultClass`.
 * Assignment still sees the raw context in memory; only what is stored goes through this policy.
 */
import { z } from 'zod';

const coarseningSchema = z.discriminatedUnion('kind', [
  /** Numbers (or numeric strings) rounded to `decimals` places: 1 decimal of lat/lon ≈ 11 km. */
  z.object({ kind: z.literal('round'), decimals: z.number().int().min(0).max(6) }),
  /** IP addresses cut to a network prefix: IPv4 /24, IPv6 /48 by default. */
  z.object({ kind: z.literal('ipPrefix'), v4Bits: z.number().int().min(0).max(32).default(24), v6Bits: z.number().int().min(0).max(128).default(48) }),
  /** Strings cut to their first `chars` characters (e.g. the district of a postal code). */
  z.object({ kind: z.literal('prefix'), chars: z.number().int().min(0).max(100) }),
]);

const attributeRuleSchema = z.object({
  class: z.enum(['allowed', 'coarsened', 'consent']),
  coarsen: coarseningSchema.optional(),
});

export const contextPolicySchema = z.object({
  attributes: z.record(z.string().min(1), attributeRuleSchema).default({}),
  defaultClass: z.enum(['allowed', 'dropped']).default('allowed'),
});

export type Coarsening = z.infer<typeof coarseningSchema>;
export type AttributeRule = z.infer<typeof attributeRuleSchema>;
export type ContextPolicy = z.infer<typeof contextPolicySchema>;

const ROUND1: Coarsening = { kind: 'round', decimals: 1 };
const IP24: Coarsening = { kind: 'ipPrefix', v4Bits: 24, v6Bits: 48 };

/** Raw location is consent-only: coordinates rounded to 0.1°, IPs cut to /24 (/48), postal codes dropped. */
export const DEFAULT_CONTEXT_POLICY: ContextPolicy = {
  attributes: {
    lat: { class: 'consent', coarsen: ROUND1 },
    latitude: { class: 'consent', coarsen: ROUND1 },
    lon: { class: 'consent', coarsen: ROUND1 },
    lng: { class: 'consent', coarsen: ROUND1 },
    longitude: { class: 'consent', coarsen: ROUND1 },
    ip: { class: 'consent', coarsen: IP24 },
    ipaddress: { class: 'consent', coarsen: IP24 },
    ip_address: { class: 'consent', coarsen: IP24 },
    postalcode: { class: 'consent' },
    postal_code: { class: 'consent' },
    zip: { class: 'consent' },
    zipcode: { class: 'consent' },
  },
  defaultClass: 'allowed',
};

/** A unit consented when the request says so or its context carries `consent: true`. */
export function hasConsent(context: Readonly<Record<string, unknown>>, requestConsent?: boolean): boolean {
  return requestConsent === true || context.consent === true;
}

/** Lower-cases the attribute names once, so lookups are case-insensitive. */
export function compileContextPolicy(policy: ContextPolicy): ContextPolicy {
  return { ...policy, attributes: Object.fromEntries(Object.entries(policy.attributes).map(([k, v]) => [k.toLowerCase(), v])) };
}

/** The context as it may be stored. `policy` must come from `compileContextPolicy`. */
export function applyContextPolicy(context: Readonly<Record<string, unknown>>, policy: ContextPolicy, consent: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key in context) {
    const value = context[key];
    const rule = policy.attributes[key.toLowerCase()];
    if (!rule) {
      if (policy.defaultClass === 'allowed') out[key] = value;
      continue;
    }
    switch (rule.class) {
      case 'allowed':
        out[key] = value;
        break;
      case 'consent':
        if (consent) {
          out[key] = value;
          break;
        }
      // falls through: without consent a consent-only attribute is coarsened (or dropped)
      case 'coarsened': {
        const c = rule.coarsen ? coarsen(value, rule.coarsen) : undefined;
        if (c !== undefined) out[key] = c;
        break;
      }
      default:
        assertNever(rule.class);
    }
  }
  return out;
}

/** The coarse form of a value, or undefined when it cannot be coarsened (then it is dropped). */
export function coarsen(value: unknown, c: Coarsening): string | number | undefined {
  switch (c.kind) {
    case 'round': {
      const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
      if (!Number.isFinite(n)) return undefined;
      const f = 10 ** c.decimals;
      const r = Math.round(n * f) / f;
      return Object.is(r, -0) ? 0 : r;
    }
    case 'ipPrefix':
      return typeof value === 'string' ? truncateIp(value.trim(), c.v4Bits, c.v6Bits) : undefined;
    case 'prefix':
      return typeof value === 'string' || typeof value === 'number' ? String(value).slice(0, c.chars) : undefined;
    default:
      return assertNever(c);
  }
}

/** "203.0.113.77" → "203.0.113.0/24"; IPv6 likewise with its prefix; anything else → undefined. */
export function truncateIp(ip: string, v4Bits: number, v6Bits: number): string | undefined {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number);
    if (a === undefined || b === undefined || c === undefined || d === undefined || [a, b, c, d].some((o) => o > 255)) return undefined;
    const n = ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
    const mask = v4Bits === 0 ? 0 : (0xffffffff << (32 - v4Bits)) >>> 0;
    const m = (n & mask) >>> 0;
    return `${[m >>> 24, (m >>> 16) & 255, (m >>> 8) & 255, m & 255].join('.')}/${v4Bits}`;
  }
  const groups = expandIpv6(ip);
  if (!groups) return undefined;
  const out = groups.map((g, i) => {
    const keep = Math.max(0, Math.min(16, v6Bits - 16 * i));
    return keep === 0 ? 0 : g & ((0xffff << (16 - keep)) & 0xffff);
  });
  return `${out.map((g) => g.toString(16)).join(':')}/${v6Bits}`;
}

function expandIpv6(ip: string): number[] | undefined {
  const zone = ip.indexOf('%');
  const s = (zone >= 0 ? ip.slice(0, zone) : ip).toLowerCase();
  if (!/^[0-9a-f:.]+$/.test(s) || !s.includes(':')) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (/^\d{1,3}(\.\d{1,3}){3}$/.test(g)) {
        const [a, b, c, d] = g.split('.').map(Number);
        if (a === undefined || b === undefined || c === undefined || d === undefined || [a, b, c, d].some((x) => x > 255)) return undefined;
        out.push((a << 8) | b, (c << 8) | d);
      } else if (/^[0-9a-f]{1,4}$/.test(g)) out.push(parseInt(g, 16));
      else return undefined;
    }
    return out;
  };
  const [first = '', second] = halves; // split always returns at least one part
  const head = parse(first);
  const tail = second !== undefined ? parse(second) : [];
  if (!head || !tail) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const fill = 8 - head.length - tail.length;
  if (fill < 1) return undefined;
  return [...head, ...new Array<number>(fill).fill(0), ...tail];
}

function assertNever(x: never): never {
  throw new Error(`unexpected value ${JSON.stringify(x)}`);
}
