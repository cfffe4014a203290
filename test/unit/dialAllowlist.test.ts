import { describe, expect, it } from 'vitest';
import { admitCall } from '../../src/routing/admitCall.js';
import {
  checkDialTarget,
  normalizeAllowlistValue,
  sipUriParts,
  type AllowlistEntry,
} from '../../src/routing/dialAllowlist.js';

const p = (value: string): AllowlistEntry => ({ kind: 'prefix', value });
const h = (value: string): AllowlistEntry => ({ kind: 'sip-host', value });

describe('checkDialTarget', () => {
  it.each([
    // target, allowlist, default country code, expected reason (or ok)
    ['US number, empty allowlist, default +1', '+15550001111', [], '1', 'ok'],
    ['UK number, empty allowlist, default +1', '+442071234567', [], '1', 'not-allowed'],
    ['UK number, empty allowlist, default +44', '+442071234567', [], '44', 'ok'],
    ['US 900 premium, empty allowlist', '+19005550100', [], '1', 'premium-rate'],
    ['US 900 premium, even with +1 allowed', '+19005550100', [p('+1')], '1', 'premium-rate'],
    ['US 900 premium, even with +1900 allowed', '+19005550100', [p('+1900')], '1', 'premium-rate'],
    ['976 pay-per-call area', '+19765550100', [p('+1')], '1', 'premium-rate'],
    ['976 pay-per-call exchange', '+12129761234', [p('+1')], '1', 'premium-rate'],
    ['UK 09 premium', '+449098790000', [p('+44')], '1', 'premium-rate'],
    ['UK 087 revenue-share', '+448712345678', [p('+44')], '1', 'premium-rate'],
    ['UK 070 personal number', '+447012345678', [p('+44')], '1', 'premium-rate'],
    ['UK mobile 07700 is not 070', '+447700900123', [p('+44')], '1', 'ok'],
    ['Germany 0900', '+499001234567', [p('+49')], '1', 'premium-rate'],
    ['France 089', '+33891234567', [p('+33')], '1', 'premium-rate'],
    ['Australia 19', '+61190012345', [p('+61')], '1', 'premium-rate'],
    ['outside the allowed country codes', '+861012345678', [p('+1'), p('+44')], '1', 'not-allowed'],
    ['inside a listed country code', '+442071234567', [p('+1'), p('+44')], '1', 'ok'],
    ['a narrow prefix allows only itself', '+15559990000', [p('+1555000')], '1', 'not-allowed'],
    ['a narrow prefix', '+15550001234', [p('+1555000')], '1', 'ok'],
    ['Jamaica under +1 is international: +1 does not allow it', '+18765550100', [p('+1')], '1', 'not-allowed'],
    ['Jamaica under +1, empty allowlist', '+18765550100', [], '1', 'not-allowed'],
    ['Jamaica allowed by naming its area code', '+18765550100', [p('+1'), p('+1876')], '1', 'ok'],
    ['Puerto Rico (US territory) is domestic', '+17875550100', [p('+1')], '1', 'ok'],
    ['Canada is domestic', '+14165550100', [p('+1')], '1', 'ok'],
    ['not E.164', '+1555', [], '1', 'invalid'],
    ['SIP URI, no sip-host entries: any host', 'sip:agent@pbx.example.com', [p('+1')], '1', 'ok'],
    ['SIP URI to a listed host (case-insensitive)', 'sip:agent@PBX.example.com:5062', [h('pbx.example.com')], '1', 'ok'],
    ['SIP URI to another host', 'sip:agent@evil.example.net', [h('pbx.example.com')], '1', 'not-allowed'],
    ['SIP URI to a listed IPv6 host', 'sip:desk@[2001:db8::1]:5060', [h('[2001:db8::1]')], '1', 'ok'],
    ['SIP URI whose user part is a premium-rate number', 'sip:+19005550100@gw.example.com', [], '1', 'premium-rate'],
    ['SIP URI with an extension user', 'sip:1001@pbx.example.com', [], '1', 'ok'],
  ] as const)('%s', (_name, target, allowlist, cc, expected) => {
    const result = checkDialTarget(target, allowlist, { defaultCountryCode: cc });
    expect(result.ok ? 'ok' : result.reason).toBe(expected);
    // A refusal names the destination.
    if (!result.ok) expect(result.message).toContain(target);
  });

  it.each([
    ['+19005550100', [], /premium-rate.*900/],
    ['+449098790000', [p('+44')], /UK 09 premium/],
    ['+861012345678', [p('+1'), p('+44')], /outside the dial allowlist \(\+1, \+44\)/],
    ['+442071234567', [], /outside the default country code \(\+1; the dial allowlist is empty\)/],
    ['+18765550100', [p('+1')], /Jamaica.*prefix entry \+1876/],
    ['sip:a@evil.example.net', [h('pbx.example.com')], /SIP host evil.example.net is not in the dial allowlist/],
  ] as const)('message for %s says why', (target, allowlist, message) => {
    const result = checkDialTarget(target, allowlist, { defaultCountryCode: '1' });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toMatch(message);
  });
});

describe('normalizeAllowlistValue', () => {
  it.each([
    ['prefix', ' +44 ', '+44'],
    ['prefix', '+1876', '+1876'],
    ['prefix', '44', null],
    ['prefix', '+0', null],
    ['prefix', '+', null],
    ['prefix', '+1234567890123456', null],
    ['sip-host', 'PBX.Example.com', 'pbx.example.com'],
    ['sip-host', '10.0.0.5', '10.0.0.5'],
    ['sip-host', '[2001:DB8::1]', '[2001:db8::1]'],
    ['sip-host', 'pbx.example.com:5060', null],
    ['sip-host', 'sip:pbx.example.com', null],
    ['sip-host', '', null],
  ] as const)('%s %j → %j', (kind, raw, expected) => {
    expect(normalizeAllowlistValue(kind, raw)).toBe(expected);
  });
});

describe('sipUriParts', () => {
  it.each([
    ['sip:agent@pbx.example.com:5062', { user: 'agent', host: 'pbx.example.com' }],
    ['sip:desk@[2001:db8::1]:5060', { user: 'desk', host: '[2001:db8::1]' }],
    ['sip:nobody', null],
  ])('%s', (uri, expected) => {
    expect(sipUriParts(uri)).toEqual(expected);
  });
});

describe('admitCall', () => {
  it.each([
    ['under both caps', { perNumberActive: 1, perNumberCap: 2, systemActive: 9, systemCap: 10 }, { ok: true }],
    ['no caps', { perNumberActive: 500, perNumberCap: null, systemActive: 500, systemCap: null }, { ok: true }],
    ['number at its cap: busy', { perNumberActive: 2, perNumberCap: 2, systemActive: 2, systemCap: 10 }, { ok: false, reject: 'busy', sipCode: 486 }],
    ['system at its cap: unavailable', { perNumberActive: 0, perNumberCap: 2, systemActive: 10, systemCap: 10 }, { ok: false, reject: 'unavailable', sipCode: 503 }],
    ['both at cap: unavailable wins', { perNumberActive: 2, perNumberCap: 2, systemActive: 10, systemCap: 10 }, { ok: false, reject: 'unavailable', sipCode: 503 }],
    ['a cap of 0 refuses every call', { perNumberActive: 0, perNumberCap: 0, systemActive: 0, systemCap: null }, { ok: false, reject: 'busy', sipCode: 486 }],
  ] as const)('%s', (_name, input, expected) => {
    expect(admitCall(input)).toEqual(expected);
  });
});
