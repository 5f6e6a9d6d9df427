import { BlockList, isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  addressKind,
  addressProblem,
  checkSourceUrl,
  cidrContains,
  parseCidr,
  parseHostPattern,
  parseIp,
  parsePortRange,
  type PortRange,
  type SourceUrlPolicy,
} from '../../../domain/context/source-url-policy.js';
import { createRng } from '../../../domain/rng.js';

/** parseCidr / parseIp for inputs the test knows are valid (a null is a failure, named). */
const cidrOf = (t: string) => {
  const c = parseCidr(t);
  if (!c) throw new Error(`not a network: ${t}`);
  return c;
};
const ipOf = (t: string) => {
  const ip = parseIp(t);
  if (ip === null) throw new Error(`not an address: ${t}`);
  return ip;
};
// Any port: the port rule has its own cases below.
const open: SourceUrlPolicy = { schemes: ['https', 'http'], allowedHosts: [], privateNetworks: [], allowedPorts: [{ from: 1, to: 65_535 }] };
const kindOf = (s: string) => addressKind(ipOf(s));

describe('addressKind', () => {
  it.each([
    ['8.8.8.8', 'public'],
    ['93.184.216.34', 'public'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'shared'],
    ['100.128.0.1', 'public'],
    ['169.254.169.254', 'link-local'],
    ['192.0.2.10', 'documentation'],
    ['198.18.0.1', 'reserved'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::ffff:8.8.8.8', 'public'],
    ['64:ff9b::10.0.0.1', 'private'],
    ['64:ff9b::8.8.8.8', 'public'],
    ['2002:7f00:0001::', 'loopback'],
    ['2002:0808:0808::1', 'public'],
    ['::127.0.0.1', 'reserved'],
    ['fd00::1', 'private'],
    ['fc12:3456::1', 'private'],
    ['fe80::1', 'link-local'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'documentation'],
    ['2001::1', 'reserved'],
    ['2606:4700:4700::1111', 'public'],
    ['2a00:1450:4001:80b::200e', 'public'],
    ['4000::1', 'reserved'],
  ])('%s is %s', (address, kind) => {
    expect(kindOf(address)).toBe(kind);
  });
});

describe('parseIp', () => {
  it.each(['', 'localhost', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.-4', ':::', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', 'g::1', '12345::', '::1%eth0', '1.2.3.4:80', '[::1', ':1:2:3:4:5:6:7', '1:2:3:4:5:6:7:'])(
    'refuses %j',
    (s) => {
      expect(parseIp(s)).toBeNull();
    },
  );

  it('reads the forms URL.hostname and DNS answers use', () => {
    expect(parseIp('[::1]')).toBe(1n);
    expect(parseIp('::ffff:1.2.3.4')).toBe(parseIp('1.2.3.4'));
    expect(parseIp('1:2:3:4:5:6:7:8')).toBe(0x00010002000300040005000600070008n);
    expect(parseIp('1::8')).toBe(0x00010000000000000000000000000008n);
    expect(parseIp('1:2:3:4:5:6:1.2.3.4')).toBe(0x00010002000300040005000601020304n);
  });

  // Node's BlockList as the reference: random addresses in random textual forms, against random networks.
  it('matches node:net BlockList on random addresses and networks', () => {
    const rng = createRng(20261130);
    const int = (n: number) => Math.floor(rng() * n);
    const hex = (n: number) => n.toString(16);
    const v4 = () => [int(256), int(256), int(256), int(256)].join('.');
    const v6 = () => {
      const g = Array.from({ length: 8 }, () => (rng() < 0.4 ? 0 : int(65536)));
      const form = int(3);
      if (form === 0) return g.map(hex).join(':');
      if (form === 1) {
        // Compress the longest run of zeros (if any) with "::".
        let best = [-1, 0];
        for (let i = 0; i < 8; ) {
          if (g[i] !== 0) { i++; continue; }
          let j = i;
          while (j < 8 && g[j] === 0) j++;
          if (j - i > (best[1] ?? 0)) best = [i, j - i];
          i = j;
        }
        const [start = -1, length = 0] = best;
        if (start < 0) return g.map(hex).join(':');
        return `${g.slice(0, start).map(hex).join(':')}::${g.slice(start + length).map(hex).join(':')}`;
      }
      return `::ffff:${v4()}`;
    };
    let compared = 0;
    let inside = 0;
    for (let round = 0; round < 200; round++) {
      const list = new BlockList();
      const isV4Net = rng() < 0.5;
      const netAddr = isV4Net ? v4() : v6().replace(/^::ffff:.*/, '2001:4860::');
      const prefix = isV4Net ? int(33) : int(129);
      list.addSubnet(netAddr, prefix, isV4Net ? 'ipv4' : 'ipv6');
      const cidr = cidrOf(`${netAddr}/${prefix}`);
      for (let k = 0; k < 50; k++) {
        // Half the probes share the network's leading text, so matches are common.
        const probe = rng() < 0.5 ? (isV4Net ? v4() : v6()) : isV4Net ? netAddr.split('.').slice(0, 2).join('.') + `.${int(256)}.${int(256)}` : v6();
        const family = isIP(probe);
        expect(family, probe).not.toBe(0);
        const ip = ipOf(probe);
        const expected = list.check(probe, family === 4 ? 'ipv4' : 'ipv6');
        expect(cidrContains(cidr, ip), `${probe} in ${netAddr}/${prefix}`).toBe(expected);
        compared++;
        if (expected) inside++;
      }
    }
    expect(compared).toBe(10_000);
    // Both answers occur often enough for the comparison to mean something.
    expect(inside).toBeGreaterThan(500);
    expect(inside).toBeLessThan(9_500);
  });
});

describe('parseCidr and parseHostPattern', () => {
  it('reads networks and refuses malformed ones', () => {
    expect(parseCidr('10.0.0.0/8')).toMatchObject({ bits: 104, text: '10.0.0.0/8' });
    expect(parseCidr('127.0.0.1')).toMatchObject({ bits: 128 });
    expect(parseCidr('fd00::/8')).toMatchObject({ bits: 8 });
    for (const bad of ['10.0.0.0/33', 'fd00::/129', '10.0.0.0/8/1', 'example.com/8', '10.0.0.0/x', '']) expect(parseCidr(bad), bad).toBeNull();
    expect(cidrContains(cidrOf('10.0.0.0/8'), ipOf('10.200.1.1'))).toBe(true);
    expect(cidrContains(cidrOf('10.0.0.0/8'), ipOf('11.0.0.1'))).toBe(false);
  });

  it('normalises host patterns', () => {
    expect(parseHostPattern('Feeds.Example.COM.')).toBe('feeds.example.com');
    expect(parseHostPattern('*.example.com')).toBe('*.example.com');
    expect(parseHostPattern('127.0.0.1')).toBe('127.0.0.1');
    for (const bad of ['*', 'a*.example.com', 'exa mple.com', 'http://example.com', '*.', 'example..com']) expect(parseHostPattern(bad), bad).toBeNull();
  });
});

describe('checkSourceUrl', () => {
  const problem = (url: string, policy: SourceUrlPolicy = open) => {
    const r = checkSourceUrl(url, policy);
    return 'problem' in r ? r.problem : null;
  };

  it('takes public http(s) hosts and leaves their addresses to the resolver', () => {
    const r = checkSourceUrl('https://feeds.example.com:8443/a?b=1', open);
    expect(r).toMatchObject({ hostname: 'feeds.example.com', literal: false });
  });

  it('refuses other schemes, credentials and non-public literal addresses', () => {
    expect(problem('file:///etc/passwd')).toMatch(/scheme 'file' is not allowed/);
    expect(problem('gopher://example.com/')).toMatch(/scheme 'gopher'/);
    expect(problem('http://example.com/', { ...open, schemes: ['https'] })).toMatch(/scheme 'http' is not allowed \(allowed: https\)/);
    expect(problem('http://user:pw@example.com/')).toMatch(/credentials/);
    expect(problem('not a url')).toBe('not a valid URL');
    expect(problem('http://127.0.0.1:8080/')).toMatch(/127\.0\.0\.1 is a loopback address/);
    expect(problem('http://169.254.169.254/latest/meta-data/')).toMatch(/link-local/);
    expect(problem('http://[::1]/')).toMatch(/::1 is a loopback address/);
    expect(problem('http://[::ffff:10.0.0.1]/')).toMatch(/private/);
    // The URL parser reads these as 127.0.0.1 before any check sees them.
    expect(problem('http://2130706433/')).toMatch(/loopback/);
    expect(problem('http://0x7f.1/')).toMatch(/loopback/);
    expect(problem('http://0/')).toMatch(/unspecified/);
    expect(problem('http://8.8.8.8/')).toBeNull();
  });

  it('lets an explicitly allowed network through, and only that one', () => {
    const local = { ...open, privateNetworks: [cidrOf('127.0.0.1/32')] };
    expect(problem('http://127.0.0.1:9000/feed', local)).toBeNull();
    expect(problem('http://127.0.0.2:9000/feed', local)).toMatch(/loopback/);
    expect(addressProblem('10.1.2.3', { privateNetworks: [cidrOf('10.1.0.0/16')] })).toBeNull();
    expect(addressProblem('10.2.0.1', { privateNetworks: [cidrOf('10.1.0.0/16')] })).toMatch(/CONTEXT_SOURCE_PRIVATE_NETWORKS/);
  });

  it('takes only ports 80 and 443 unless more are listed', () => {
    const web = { ...open, allowedPorts: [] };
    expect(problem('http://example.com/', web)).toBeNull();
    expect(problem('https://example.com/', web)).toBeNull();
    expect(problem('http://example.com:443/', web)).toBeNull();
    expect(problem('https://example.com:80/', web)).toBeNull();
    expect(problem('https://example.com:443/', web)).toBeNull();
    for (const port of [22, 25, 3306, 5432, 6379, 8080, 8443, 11211, 65535]) {
      expect(problem(`http://example.com:${port}/`, web), String(port)).toBe(`port ${port} is not allowed (80 and 443, plus CONTEXT_SOURCE_ALLOWED_PORTS)`);
    }
    const listed = { ...open, allowedPorts: [parsePortRange('8443'), parsePortRange(' 9000-9010 ')].filter((r): r is PortRange => r !== null) };
    expect(listed.allowedPorts).toEqual([{ from: 8443, to: 8443 }, { from: 9000, to: 9010 }]);
    expect(problem('https://example.com:8443/', listed)).toBeNull();
    expect(problem('http://example.com:9000/', listed)).toBeNull();
    expect(problem('http://example.com:9010/', listed)).toBeNull();
    expect(problem('http://example.com:9011/', listed)).toMatch(/port 9011 is not allowed/);
    expect(problem('http://example.com:8999/', listed)).toMatch(/port 8999 is not allowed/);
    for (const bad of ['', '0', '65536', '10-5', 'http', '80,443', '1-2-3', '-5', '8080x']) expect(parsePortRange(bad), bad).toBeNull();
  });

  it('keeps to the host allow-list when one is configured', () => {
    const listed = { ...open, allowedHosts: ['feeds.example.com', '*.weather.test', '8.8.8.8'] };
    expect(problem('https://feeds.example.com/x', listed)).toBeNull();
    expect(problem('https://FEEDS.example.com./x', listed)).toBeNull();
    expect(problem('https://eu.weather.test/x', listed)).toBeNull();
    expect(problem('https://a.b.weather.test/x', listed)).toBeNull();
    expect(problem('https://weather.test/x', listed)).toMatch(/not in CONTEXT_SOURCE_ALLOWED_HOSTS/);
    expect(problem('https://evilweather.test/x', listed)).toMatch(/not in CONTEXT_SOURCE_ALLOWED_HOSTS/);
    expect(problem('https://feeds.example.com.evil.test/x', listed)).toMatch(/not in CONTEXT_SOURCE_ALLOWED_HOSTS/);
    expect(problem('http://[::ffff:8.8.8.8]/', listed)).toBeNull();
    expect(problem('http://8.8.4.4/', listed)).toMatch(/not in CONTEXT_SOURCE_ALLOWED_HOSTS/);
  });
});
