/**
 * Which URLs a pull source may fetch (SSRF guard). The worker fetches whatever URL a caller
 * registered, from inside the network, so:
 * - only the allowed schemes (http/https at most), no credentials in the URL;
 * - only the web's ports (80, 443) unless the operator lists others, so a source cannot probe
 *   SSH, SMTP, Redis or a database on an otherwise allowed host;
 * - when a host allow-list is configured, only hosts on it (`api.example.com`, `*.example.com`,
 *   or an IP literal);
 * - every address the host resolves to must be public; a non-public one (loopback, private,
 *   link-local such as the cloud metadata address 169.254.169.254, unique-local, multicast,
 *   reserved...) only when it lies in a network the operator allowed explicitly.
 * The address check runs on the resolved addresses the connection then uses (infra/source-fetch.ts),
 * so a DNS answer that changes between the check and the connection cannot bypass it.
 */

export interface SourceUrlPolicy {
  /** Lower-case, without the colon. */
  schemes: Array<'http' | 'https'>;
  /** Host patterns; empty: any host (the address check still applies). */
  allowedHosts: string[];
  /** Non-public networks sources may reach anyway. */
  privateNetworks: Cidr[];
  /** Ports allowed besides 80 and 443 (URL port, or the scheme's default when it has none). */
  allowedPorts: PortRange[];
}

export interface PortRange {
  from: number;
  to: number;
}

/** The ports every source may use: http's and https's own. */
const WEB_PORTS: readonly number[] = [80, 443];

/** "8080" or "8000-8999" (1..65535), or null when malformed. */
export function parsePortRange(text: string): PortRange | null {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text.trim());
  if (!m?.[1]) return null;
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  return from >= 1 && to <= 65_535 && from <= to ? { from, to } : null;
}

/** The port the connection will use: the URL's, or the scheme's default. */
function effectivePort(url: URL, scheme: string): number {
  return url.port ? Number(url.port) : scheme === 'https' ? 443 : 80;
}

function portAllowed(port: number, ranges: PortRange[]): boolean {
  return WEB_PORTS.includes(port) || ranges.some((r) => port >= r.from && port <= r.to);
}

export interface Cidr {
  /** The network address, IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d), as a 128-bit integer. */
  base: bigint;
  /** Prefix length over the 128 bits (an IPv4 /8 is 104). */
  bits: number;
  /** As written, for messages. */
  text: string;
}

export type AddressKind =
  | 'public'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'shared'
  | 'link-local'
  | 'multicast'
  | 'documentation'
  | 'reserved';

const V4_MAPPED = 0xffffn << 32n;
const ALL = (1n << 128n) - 1n;

function parseV4(s: string): bigint | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  let out = 0n;
  for (const part of m.slice(1)) {
    // A leading zero reads as octal in some parsers: not an address here.
    if (part.length > 1 && part.startsWith('0')) return null;
    const n = Number(part);
    if (n > 255) return null;
    out = (out << 8n) | BigInt(n);
  }
  return out;
}

function parseGroups(s: string): number[] | null {
  if (s === '') return [];
  const out: number[] = [];
  for (const g of s.split(':')) {
    if (!/^[0-9a-f]{1,4}$/i.test(g)) return null;
    out.push(parseInt(g, 16));
  }
  return out;
}

function parseV6(input: string): bigint | null {
  let s = input;
  let tail32: bigint | null = null;
  const lastColon = s.lastIndexOf(':');
  if (lastColon === -1) return null;
  if (s.includes('.')) {
    tail32 = parseV4(s.slice(lastColon + 1));
    if (tail32 === null) return null;
    // Keep a trailing "::" ("::1.2.3.4"), drop a single trailing colon ("::ffff:1.2.3.4").
    s = s.slice(0, lastColon + 1);
    if (!s.endsWith('::')) s = s.slice(0, -1);
  }
  const want = tail32 === null ? 8 : 6;
  const halves = s.split('::');
  if (halves.length > 2) return null;
  let groups: number[];
  if (halves.length === 2) {
    const head = parseGroups(halves[0] ?? '');
    const tail = parseGroups(halves[1] ?? '');
    if (!head || !tail || head.length + tail.length > want - 1) return null;
    groups = [...head, ...new Array<number>(want - head.length - tail.length).fill(0), ...tail];
  } else {
    const all = parseGroups(s);
    if (!all || all.length !== want) return null;
    groups = all;
  }
  let out = 0n;
  for (const g of groups) out = (out << 16n) | BigInt(g);
  return tail32 === null ? out : (out << 32n) | tail32;
}

/**
 * An IP address as a 128-bit integer (IPv4 as IPv4-mapped IPv6), or null when `s` is not a
 * literal address. Brackets ("[::1]", as URL.hostname writes IPv6) are accepted; zone ids are not.
 */
export function parseIp(s: string): bigint | null {
  const t = s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s;
  const v4 = parseV4(t);
  if (v4 !== null) return V4_MAPPED | v4;
  return parseV6(t);
}

function mask(bits: number): bigint {
  return bits === 0 ? 0n : (ALL << BigInt(128 - bits)) & ALL;
}

/** "10.0.0.0/8", "fd00::/8", or a single address (a /32 or /128). Null when malformed. */
export function parseCidr(text: string): Cidr | null {
  const [addr, len, extra] = text.trim().split('/');
  if (addr === undefined || extra !== undefined) return null;
  const ip = parseIp(addr);
  if (ip === null) return null;
  const isV4 = parseV4(addr) !== null;
  const max = isV4 ? 32 : 128;
  let prefix = max;
  if (len !== undefined) {
    if (!/^\d{1,3}$/.test(len) || Number(len) > max) return null;
    prefix = Number(len);
  }
  const bits = isV4 ? prefix + 96 : prefix;
  return { base: ip & mask(bits), bits, text: text.trim() };
}

export function cidrContains(c: Cidr, ip: bigint): boolean {
  return (ip & mask(c.bits)) === c.base;
}

const range = (text: string, kind: AddressKind | 'embedded-v4' | 'embedded-6to4') => {
  const c = parseCidr(text);
  if (!c) throw new Error(`bad built-in range ${text}`);
  return { c, kind };
};

// IANA's IPv4 and IPv6 special-purpose registries, first match wins. In IPv6 only 2000::/3 is
// global unicast; everything outside it is reserved.
const V4_RANGES = [
  range('0.0.0.0/8', 'unspecified'),
  range('10.0.0.0/8', 'private'),
  range('100.64.0.0/10', 'shared'),
  range('127.0.0.0/8', 'loopback'),
  range('169.254.0.0/16', 'link-local'),
  range('172.16.0.0/12', 'private'),
  range('192.0.0.0/24', 'reserved'),
  range('192.0.2.0/24', 'documentation'),
  range('192.88.99.0/24', 'reserved'),
  range('192.168.0.0/16', 'private'),
  range('198.18.0.0/15', 'reserved'),
  range('198.51.100.0/24', 'documentation'),
  range('203.0.113.0/24', 'documentation'),
  range('224.0.0.0/4', 'multicast'),
  range('240.0.0.0/4', 'reserved'),
];
const V6_RANGES = [
  range('::/128', 'unspecified'),
  range('::1/128', 'loopback'),
  range('::ffff:0:0/96', 'embedded-v4'),
  // NAT64: reaches the IPv4 address in its last 32 bits.
  range('64:ff9b::/96', 'embedded-v4'),
  range('64:ff9b:1::/48', 'private'),
  range('fc00::/7', 'private'),
  range('fe80::/10', 'link-local'),
  range('ff00::/8', 'multicast'),
  range('2001:db8::/32', 'documentation'),
  range('3fff::/20', 'documentation'),
  range('2001::/23', 'reserved'),
  // 6to4: reaches the IPv4 address in bits 16-47.
  range('2002::/16', 'embedded-6to4'),
];
const GLOBAL_UNICAST = range('2000::/3', 'public').c;

function classifyV4(v4: bigint): AddressKind {
  const ip = V4_MAPPED | v4;
  for (const r of V4_RANGES) if (cidrContains(r.c, ip)) return r.kind as AddressKind;
  return 'public';
}

/** What kind of address `ip` (from parseIp) is. */
export function addressKind(ip: bigint): AddressKind {
  for (const r of V6_RANGES) {
    if (!cidrContains(r.c, ip)) continue;
    if (r.kind === 'embedded-v4') return classifyV4(ip & 0xffffffffn);
    if (r.kind === 'embedded-6to4') return classifyV4((ip >> 80n) & 0xffffffffn);
    return r.kind;
  }
  return cidrContains(GLOBAL_UNICAST, ip) ? 'public' : 'reserved';
}

/** Why a source may not connect to `address` (a literal IP), or null when it may. */
export function addressProblem(address: string, policy: Pick<SourceUrlPolicy, 'privateNetworks'>): string | null {
  const ip = parseIp(address);
  if (ip === null) return `'${address}' is not an IP address`;
  const kind = addressKind(ip);
  if (kind === 'public') return null;
  if (policy.privateNetworks.some((c) => cidrContains(c, ip))) return null;
  return `${address} is a ${kind} address, which sources may not reach unless its network is listed in CONTEXT_SOURCE_PRIVATE_NETWORKS`;
}

const HOST_PATTERN = /^(\*\.)?[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*$/;

/** A host allow-list entry normalised (lower case, no trailing dot), or null when malformed. */
export function parseHostPattern(text: string): string | null {
  const t = text.trim().toLowerCase().replace(/\.$/, '');
  if (parseIp(t) !== null) return t;
  return HOST_PATTERN.test(t) ? t : null;
}

function hostAllowed(hostname: string, patterns: string[]): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  const ip = parseIp(host);
  return patterns.some((p) => {
    if (ip !== null) return parseIp(p) === ip;
    if (p.startsWith('*.')) return host.endsWith(p.slice(1)) && host.length > p.length - 1;
    return host === p;
  });
}

export interface SourceTarget {
  url: URL;
  /** As the connection needs it: IPv6 without brackets. */
  hostname: string;
  /** The host is a literal IP address (already checked): nothing to resolve. */
  literal: boolean;
}

/**
 * The checks that need no DNS: scheme, credentials, host allow-list, and the address itself when
 * the host is an IP literal. `{problem}` is phrased for the `url` field.
 */
export function checkSourceUrl(raw: string, policy: SourceUrlPolicy): SourceTarget | { problem: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { problem: 'not a valid URL' };
  }
  const scheme = url.protocol.replace(/:$/, '').toLowerCase();
  if (!(policy.schemes as string[]).includes(scheme)) return { problem: `scheme '${scheme}' is not allowed (allowed: ${policy.schemes.join(', ')})` };
  if (url.username || url.password) return { problem: 'must not carry credentials (user:password@)' };
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (!hostname) return { problem: 'has no host' };
  const port = effectivePort(url, scheme);
  if (!portAllowed(port, policy.allowedPorts)) {
    return { problem: `port ${port} is not allowed (80 and 443, plus CONTEXT_SOURCE_ALLOWED_PORTS)` };
  }
  if (policy.allowedHosts.length && !hostAllowed(hostname, policy.allowedHosts)) {
    return { problem: `host '${hostname}' is not in CONTEXT_SOURCE_ALLOWED_HOSTS` };
  }
  const literal = parseIp(hostname) !== null;
  if (literal) {
    const p = addressProblem(hostname, policy);
    if (p) return { problem: p };
  }
  return { url, hostname, literal };
}
