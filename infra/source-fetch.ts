/**
 * Fetches a pull source's URL under the SSRF policy (domain/context/source-url-policy.ts).
 * Resolve, then check, then connect to exactly the checked address: the connection's DNS lookup is
 * pinned to the answer that passed, so a host that answers a public address to the check and a
 * private one to the connection (DNS rebinding) cannot reach the private one. Every address of
 * the answer must pass, not just one. Redirects are followed (a few) and each hop is checked the
 * same way. One deadline covers DNS, connect, headers and body; the body is capped in bytes.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { addressProblem, checkSourceUrl, type SourceTarget, type SourceUrlPolicy } from '../domain/context/source-url-policy.js';

export interface SourceAccess {
  policy: SourceUrlPolicy;
  /** Deadline for one fetch: DNS, connect, redirects, headers and body. */
  timeoutMs: number;
  maxBytes: number;
}

/** Public hosts over http(s), 10 s, 5 MiB: what an unconfigured worker allows. */
export const DEFAULT_SOURCE_ACCESS: SourceAccess = {
  policy: { schemes: ['https', 'http'], allowedHosts: [], privateNetworks: [], allowedPorts: [] },
  timeoutMs: 10_000,
  maxBytes: 5 * 1024 * 1024,
};

const MAX_REDIRECTS = 3;

/** The policy refuses the URL (or where it leads): not worth retrying. */
export class SourceRefusedError extends Error {}

export interface ResolvedAddress {
  address: string;
  family: number;
}
/** DNS resolution of a host name; injectable so tests can play a rebinding resolver. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

const systemResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

function withDeadline<T>(p: Promise<T>, deadline: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within the source timeout`)), Math.max(0, deadline - Date.now()));
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** The address to connect to: every address the host resolves to must pass the policy. */
async function resolveChecked(target: SourceTarget, policy: SourceUrlPolicy, resolve: Resolver, deadline: number): Promise<ResolvedAddress> {
  if (target.literal) return { address: target.hostname, family: target.hostname.includes(':') ? 6 : 4 };
  let answers: ResolvedAddress[];
  try {
    answers = await withDeadline(resolve(target.hostname), deadline, `resolving ${target.hostname}`);
  } catch (e) {
    throw new Error(`host '${target.hostname}' could not be resolved (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const first = answers[0];
  if (!first) throw new Error(`host '${target.hostname}' has no address`);
  for (const a of answers) {
    const problem = addressProblem(a.address, policy);
    if (problem) throw new SourceRefusedError(`host '${target.hostname}' resolves to ${problem}`);
  }
  return first;
}

/** Checks a URL as a registration would (static rules, then DNS); throws SourceRefusedError or Error. */
export async function vetSourceUrl(raw: string, access: SourceAccess, resolve: Resolver = systemResolver): Promise<void> {
  const target = checkSourceUrl(raw, access.policy);
  if ('problem' in target) throw new SourceRefusedError(target.problem);
  await resolveChecked(target, access.policy, resolve, Date.now() + access.timeoutMs);
}

/** GET `raw` and return its body as text; non-2xx, policy refusals, overruns and timeouts throw. */
export async function fetchSourceText(raw: string, access: SourceAccess, resolve: Resolver = systemResolver): Promise<string> {
  const deadline = Date.now() + access.timeoutMs;
  let current = raw;
  for (let hop = 0; ; hop++) {
    const target = checkSourceUrl(current, access.policy);
    if ('problem' in target) throw new SourceRefusedError(hop ? `redirect to ${current}: ${target.problem}` : target.problem);
    const pinned = await resolveChecked(target, access.policy, resolve, deadline);
    const res = await get(target, pinned, deadline);
    const location = res.headers.location;
    if (res.statusCode && res.statusCode >= 300 && res.statusCode < 400 && location) {
      res.resume();
      if (hop >= MAX_REDIRECTS) throw new Error(`GET ${raw}: more than ${MAX_REDIRECTS} redirects`);
      current = new URL(location, target.url).href;
      continue;
    }
    if (!res.statusCode || res.statusCode < 200 || res.statusCode >= 300) {
      res.resume();
      throw new Error(`GET ${raw}: HTTP ${res.statusCode}`);
    }
    return readCapped(res, access.maxBytes, raw, deadline);
  }
}

function get(target: SourceTarget, pinned: ResolvedAddress, deadline: number): Promise<IncomingMessage> {
  // The connection resolves the host through this: always the checked answer.
  const lookup: LookupFunction = (_host, opts, cb) => {
    if ((opts as { all?: boolean }).all) (cb as unknown as (e: null, a: ResolvedAddress[]) => void)(null, [pinned]);
    else cb(null, pinned.address, pinned.family);
  };
  const client = target.url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(
      {
        method: 'GET',
        hostname: target.hostname,
        port: target.url.port || undefined,
        path: `${target.url.pathname}${target.url.search}`,
        headers: { accept: 'application/json', 'accept-encoding': 'identity', 'user-agent': 'expflow-context-source' },
        lookup,
        agent: false,
      },
      (res) => {
        clearTimeout(timer);
        resolve(res);
      },
    );
    const timer = setTimeout(() => req.destroy(new Error(`GET ${target.url.href}: no answer within the source timeout`)), Math.max(0, deadline - Date.now()));
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end();
  });
}

/** The body as text, refusing (without buffering it) one larger than `max` bytes or slower than the deadline. */
function readCapped(res: IncomingMessage, max: number, url: string, deadline: number): Promise<string> {
  const declared = Number(res.headers['content-length'] ?? NaN);
  if (declared > max) {
    res.destroy();
    return Promise.reject(new Error(`GET ${url}: body larger than ${max} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const fail = (e: Error) => {
      clearTimeout(timer);
      res.destroy();
      reject(e);
    };
    const timer = setTimeout(() => fail(new Error(`GET ${url}: body not complete within the source timeout`)), Math.max(0, deadline - Date.now()));
    res.on('data', (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > max) fail(new Error(`GET ${url}: body larger than ${max} bytes`));
      else chunks.push(chunk);
    });
    res.on('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    res.on('error', fail);
  });
}
