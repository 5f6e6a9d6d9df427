import { describe, expect, it } from 'vitest';
import {
  DEFAULT_CONTEXT_POLICY,
  applyContextPolicy,
  coarsen,
  compileContextPolicy,
  contextPolicySchema,
  hasConsent,
  truncateIp,
} from '../../../domain/privacy/context-policy.js';

const policy = compileContextPolicy(DEFAULT_CONTEXT_POLICY);

describe('applyContextPolicy (default policy)', () => {
  const cases: Array<{ name: string; context: Record<string, unknown>; consent: boolean; stored: Record<string, unknown> }> = [
    { name: 'allowed attributes pass', context: { country: 'PT', sessions: 3 }, consent: false, stored: { country: 'PT', sessions: 3 } },
    { name: 'lat/lon rounded to 0.1 without consent', context: { lat: 38.72225, lon: -9.13934 }, consent: false, stored: { lat: 38.7, lon: -9.1 } },
    { name: 'lat/lon raw with consent', context: { lat: 38.72225, lon: -9.13934 }, consent: true, stored: { lat: 38.72225, lon: -9.13934 } },
    { name: 'numeric strings rounded too', context: { latitude: '41.14961' }, consent: false, stored: { latitude: 41.1 } },
    { name: 'non-numeric coordinates dropped', context: { lat: 'north' }, consent: false, stored: {} },
    { name: 'ip truncated to /24', context: { ip: '203.0.113.77' }, consent: false, stored: { ip: '203.0.113.0/24' } },
    { name: 'ip raw with consent', context: { ip: '203.0.113.77' }, consent: true, stored: { ip: '203.0.113.77' } },
    { name: 'names match case-insensitively', context: { IP: '10.1.2.3', Lat: 1.26 }, consent: false, stored: { IP: '10.1.2.0/24', Lat: 1.3 } },
    { name: 'postal code dropped without consent', context: { postalCode: '1100-148', country: 'PT' }, consent: false, stored: { country: 'PT' } },
    { name: 'postal code kept with consent', context: { postalCode: '1100-148' }, consent: true, stored: { postalCode: '1100-148' } },
    { name: 'malformed ip dropped', context: { ip: '999.1.1.1' }, consent: false, stored: {} },
  ];
  for (const c of cases) {
    it(c.name, () => expect(applyContextPolicy(c.context, policy, c.consent)).toEqual(c.stored));
  }
});

describe('configured policies', () => {
  it('coarsened attributes are coarsened even with consent; dropped default removes unlisted ones', () => {
    const p = compileContextPolicy(
      contextPolicySchema.parse({ attributes: { zip: { class: 'coarsened', coarsen: { kind: 'prefix', chars: 2 } }, country: { class: 'allowed' } }, defaultClass: 'dropped' }),
    );
    expect(applyContextPolicy({ zip: '94103', country: 'US', email: 'a@b.c' }, p, true)).toEqual({ zip: '94', country: 'US' });
  });

  it('rejects an unknown class, naming the field', () => {
    const r = contextPolicySchema.safeParse({ attributes: { lat: { class: 'secret' } } });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path).toEqual(['attributes', 'lat', 'class']);
  });
});

describe('coarseners', () => {
  it.each([
    ['203.0.113.77', 24, '203.0.113.0/24'],
    ['203.0.113.77', 16, '203.0.0.0/16'],
    ['255.255.255.255', 0, '0.0.0.0/0'],
    ['2001:db8:85a3::8a2e:370:7334', 48, '2001:db8:85a3:0:0:0:0:0/48'],
    ['::1', 48, '0:0:0:0:0:0:0:0/48'],
    ['::ffff:192.0.2.128', 128, '0:0:0:0:0:ffff:c000:280/128'],
    ['1:2:3:4:5:6:7:8:9', 48, undefined],
    ['not-an-ip', 24, undefined],
  ] as const)('truncateIp(%s, /%i) = %s', (ip, bits, expected) => {
    expect(truncateIp(ip, bits, bits)).toBe(expected);
  });

  it('rounds half away from the grid without producing -0', () => {
    expect(coarsen(-0.04, { kind: 'round', decimals: 1 })).toBe(0);
    expect(coarsen(12.345, { kind: 'round', decimals: 0 })).toBe(12);
  });

  it('consent comes from the request or the context flag, only when true', () => {
    expect(hasConsent({ consent: true })).toBe(true);
    expect(hasConsent({ consent: 'yes' })).toBe(false);
    expect(hasConsent({}, true)).toBe(true);
    expect(hasConsent({ consent: true }, false)).toBe(true);
    expect(hasConsent({})).toBe(false);
  });
});
