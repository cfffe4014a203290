import { describe, expect, it } from 'vitest';
import { callerPrivacyLookup, createCallerPrivacyCache } from '../../src/privacy/callerPrivacy.js';
import { resolveRoute, type RoutableNumber } from '../../src/routing/resolveRoute.js';
import { arrivalRecord, attributionOf, identifyCall } from '../../src/telephony/session/identifyCall.js';

const CALLER = '+15559876543';
const number: RoutableNumber = {
  id: 3, accountId: 1, did: '+15551230000', destination: '+15550001111', ringTimeoutSeconds: 30, enabled: true,
  source: 'google', medium: 'cpc', campaign: null, recordingEnabled: true, recordingChannels: 'mixed', announcement: 'none', announcementId: null,
};
const channel = { id: '17.1', dialplan: { exten: '5551230000', context: 'from-carrier', priority: 1 }, caller: { number: '5559876543', name: 'Pat' } };

describe('caller privacy at call setup (do-not-record list, restriction)', () => {
  it('looks callers up per account; restriction wins over do-not-record', () => {
    const lookup = callerPrivacyLookup([
      { accountId: 1, callerNumber: CALLER, rule: 'do-not-record' },
      { accountId: 1, callerNumber: CALLER, rule: 'restricted' },
      { accountId: 2, callerNumber: '+15550000001', rule: 'do-not-record' },
    ]);
    expect(lookup(1, CALLER)).toBe('restricted');
    expect(lookup(2, CALLER)).toBeNull();
    expect(lookup(2, '+15550000001')).toBe('do-not-record');
    expect(lookup(1, null)).toBeNull();
  });

  it('a listed caller is routed, not recorded; a restricted one is also not attributed and its record is marked', () => {
    for (const rule of ['do-not-record', 'restricted'] as const) {
      const who = identifyCall(channel, '1', () => number, callerPrivacyLookup([{ accountId: 1, callerNumber: CALLER, rule }]));
      expect(who.privacy).toBe(rule);
      const decision = resolveRoute({ did: who.did, number, callerNumber: CALLER, privacy: who.privacy }, { rejectSipCode: 404, outboundEndpoint: 'destinations' });
      expect(decision).toMatchObject({ kind: 'dial', destination: '+15550001111', recording: null });
      const attribution = attributionOf({ ...who, number }, () => ({ visitId: 5 }), 0);
      expect(attribution).toEqual(rule === 'restricted' ? undefined : { visitId: 5 });
      expect(arrivalRecord(channel, who, { arrivedAt: 0, destination: null, bridgeId: null }, attribution).restricted).toBe(rule === 'restricted');
    }
    const anyone = identifyCall(channel, '1', () => number, callerPrivacyLookup([]));
    expect(anyone.privacy).toBeNull();
    expect(resolveRoute({ did: anyone.did, number, callerNumber: CALLER, privacy: null }, { rejectSipCode: 404, outboundEndpoint: 'd' })).toMatchObject({ recording: { channels: 'mixed' } });
  });

  it('the cache reads the rules again only when the version moved, from synchronous or asynchronous sources', async () => {
    for (const later of [false, true]) {
      let version = 1;
      let reads = 0;
      let rules = [{ accountId: 1, callerNumber: CALLER, rule: 'do-not-record' as const }];
      const answer = <T,>(v: T) => (later ? Promise.resolve(v) : v);
      const cache = createCallerPrivacyCache({ version: () => answer(version), rules: () => (reads++, answer(rules)) });
      await cache.refresh();
      expect(cache.lookup(1, CALLER)).toBe('do-not-record');
      await cache.refresh();
      expect(reads).toBe(1);
      rules = [];
      version = 2;
      await cache.refresh();
      expect(cache.lookup(1, CALLER)).toBeNull();
      expect(reads).toBe(2);
    }
  });

  it('a look that fails keeps the rules it had; the next one reads them', async () => {
    let down = false;
    let version = 1;
    const cache = createCallerPrivacyCache({
      version: async () => {
        if (down) throw new Error('database restarting');
        return version;
      },
      rules: async () => (version === 1 ? [{ accountId: 1, callerNumber: CALLER, rule: 'restricted' as const }] : []),
    });
    await cache.refresh();
    down = true;
    version = 2;
    await expect(cache.refresh()).rejects.toThrow(/restarting/);
    expect(cache.lookup(1, CALLER)).toBe('restricted');
    down = false;
    await cache.refresh();
    expect(cache.lookup(1, CALLER)).toBeNull();
  });
});
