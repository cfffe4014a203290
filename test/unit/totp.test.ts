import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkNewPassword } from '../../src/auth/passwords.js';
import { base32Decode, base32Encode, matchTotp, newTotpSecret, totpAt, totpStep } from '../../src/auth/totp.js';

describe('TOTP (RFC 6238)', () => {
  // RFC 6238 appendix B, SHA-1 rows: the seed is the ASCII string "12345678901234567890", 8 digits.
  it.each([
    [59, '94287082'],
    [1111111109, '07081804'],
    [1111111111, '14050471'],
    [1234567890, '89005924'],
    [2000000000, '69279037'],
    [20000000000, '65353130'],
  ])('gives the RFC test vector at T=%i', (seconds, expected) => {
    expect(totpAt(Buffer.from('12345678901234567890'), totpStep(seconds * 1000), 8)).toBe(expected);
  });

  it('round-trips base32 for any bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => base32Decode(base32Encode(bytes)).equals(Buffer.from(bytes))));
    expect(base32Encode(Buffer.from('foobar'))).toBe('MZXW6YTBOI'); // RFC 4648 section 10
  });

  it('accepts the code of the step before, now and after, once each, and nothing else', () => {
    const secret = newTotpSecret();
    const key = base32Decode(secret);
    const now = Date.parse('2026-06-01T09:00:10Z');
    const step = totpStep(now);
    expect(matchTotp(secret, totpAt(key, step), now, null)).toBe(step);
    expect(matchTotp(secret, totpAt(key, step - 1), now, null)).toBe(step - 1);
    expect(matchTotp(secret, totpAt(key, step + 1), now, null)).toBe(step + 1);
    expect(matchTotp(secret, totpAt(key, step - 2), now, null)).toBeNull();
    expect(matchTotp(secret, totpAt(key, step), now, step)).toBeNull();
    expect(matchTotp(secret, 'abcdef', now, null)).toBeNull();
    expect(matchTotp(secret, ` ${totpAt(key, step).slice(0, 3)} ${totpAt(key, step).slice(3)} `, now, null)).toBe(step);
  });
});

describe('new passwords', () => {
  it.each([
    ['short1', /at least 12/],
    ['password1234', /most common/],
    ['Qwertyuiop', /at least 12/],
    ['qwertyuiop2024', /most common/],
    ['abababababababab', /too few different/],
    ['janedoe-secure-99', /e-mail name/],
  ])('refuses %s', (password, why) => {
    expect(() => checkNewPassword(password, 'janedoe@example.com')).toThrow(why);
  });

  it('takes a long passphrase', () => {
    expect(() => checkNewPassword('tangerine orbit kettle 7', 'janedoe@example.com')).not.toThrow();
  });
});
