import { describe, expect, it } from 'vitest';
import { defaultNodeId, loadConfig } from '../../src/config/loadConfig.js';
import { isE164, normalizeNumber } from '../../src/routing/normalizeNumber.js';
import { dialEndpoint, resolveRoute, type RoutableNumber } from '../../src/routing/resolveRoute.js';
import { callOutcome, recordEndedBy, type CallFacts } from '../../src/telephony/session/callOutcome.js';
import { endEventCause } from '../../src/telephony/ari/endEventCause.js';
import { canTransition, nextState, type CallState } from '../../src/telephony/session/callStates.js';

describe('normalizeNumber', () => {
  it.each([
    ['+15551234567', '1', '+15551234567'],
    ['15551234567', '1', '+15551234567'],
    ['5551234567', '1', '+15551234567'],
    ['(555) 123-4567', '1', '+15551234567'],
    ['555.123.4567', '1', '+15551234567'],
    ['01144207946000', '1', '+44207946000'],
    ['0044207946000', '44', '+44207946000'],
    ['020 7946 0000', '44', '+442079460000'],
    ['sip:+15551234567@127.0.0.1:5060', '1', '+15551234567'],
    ['tel:+15551234567', '1', '+15551234567'],
    ['', '1', null],
    ['abc', '1', null],
    ['123', '1', null],
    ['+0123456789', '1', null],
    ['+1234567890123456', '1', null],
    ['s', '1', null],
  ])('%s (country %s) → %s', (raw, cc, expected) => {
    expect(normalizeNumber(raw, cc)).toBe(expected);
  });

  it('isE164', () => {
    expect(isE164('+15551234567')).toBe(true);
    expect(isE164('15551234567')).toBe(false);
    expect(isE164('+1555')).toBe(false);
  });
});

describe('resolveRoute', () => {
  const number: RoutableNumber = {
    id: 7, accountId: 3, did: '+15551230000', destination: '+15550001111', ringTimeoutSeconds: 25,
    enabled: true, source: 'google', medium: 'cpc', campaign: 'spring',
    recordingEnabled: true, recordingChannels: 'mixed', announcement: 'none', announcementId: null,
  };
  const policy = { rejectSipCode: 404, outboundEndpoint: 'destinations' };
  it.each([
    ['dial', { did: '+15551230000', number }, { kind: 'dial', endpoint: 'PJSIP/+15550001111@destinations', ringTimeoutSeconds: 25, callerIdNumber: '+15559876543' }],
    ['unknown DID', { did: '+15551230000', number: undefined }, { kind: 'reject', reason: 'CR_ERR_DID_NOT_FOUND', sipCode: 404, cause: 1 }],
    ['disabled', { did: '+15551230000', number: { ...number, enabled: false } }, { kind: 'reject', reason: 'CR_ERR_NUMBER_DISABLED', sipCode: 404, cause: 1 }],
    ['not a number', { did: null, number: undefined }, { kind: 'reject', reason: 'CR_ERR_INVALID_NUMBER' }],
  ] as const)('%s', (_name, call, expected) => {
    expect(resolveRoute({ ...call, callerNumber: '+15559876543' }, policy)).toMatchObject(expected);
  });

  it.each([
    [{ recordingEnabled: false }, { recording: null, announcementMedia: null }],
    [{ recordingChannels: 'dual' as const }, { recording: { channels: 'dual' } }],
    [{ announcement: 'default' as const }, { announcementMedia: 'sound:/var/lib/asterisk/sounds/callroute/recording-announcement' }],
    [{ announcement: 'custom' as const, announcementId: 4 }, { announcementMedia: 'sound:/var/lib/asterisk/sounds/callroute/announcement-4' }],
  ])('recording and announcement options %o', (options, expected) => {
    expect(resolveRoute({ did: '+15551230000', number: { ...number, ...options }, callerNumber: '' }, policy)).toMatchObject(expected);
  });

  it('uses the configured rejection code and its cause', () => {
    expect(resolveRoute({ did: '+15551230000', number: undefined, callerNumber: '' }, { ...policy, rejectSipCode: 403 })).toMatchObject({ sipCode: 403, cause: 21 });
  });

  it.each([
    ['+15550001111', 'PJSIP/+15550001111@destinations'],
    ['sip:desk@127.0.0.1:5080', 'PJSIP/destinations/sip:desk@127.0.0.1:5080'],
  ])('dialEndpoint(%s) = %s', (dest, expected) => {
    expect(dialEndpoint(dest, 'destinations')).toBe(expected);
  });
});

describe('callOutcome', () => {
  const base: CallFacts = { answered: false, endedBy: 'destination', dialStatus: null, destinationCause: null, ringTimedOut: false };
  it.each<[string, Partial<CallFacts>, ReturnType<typeof callOutcome>]>([
    ['answered', { answered: true, endedBy: 'caller' }, { disposition: 'answered', sipCode: 200, callerCause: 16 }],
    ['busy by dial status', { dialStatus: 'BUSY', destinationCause: 17 }, { disposition: 'busy', sipCode: 486, callerCause: 17 }],
    ['busy by cause', { destinationCause: 17 }, { disposition: 'busy', sipCode: 486, callerCause: 17 }],
    ['no answer by Asterisk dial timeout', { dialStatus: 'NOANSWER', destinationCause: 16 }, { disposition: 'no-answer', sipCode: 480, callerCause: 19 }],
    ['no answer by our timer', { endedBy: 'router', ringTimedOut: true }, { disposition: 'no-answer', sipCode: 480, callerCause: 19 }],
    ['caller abandoned', { endedBy: 'caller' }, { disposition: 'caller-abandoned', sipCode: 487, callerCause: 16 }],
    ['destination unavailable', { dialStatus: 'CHANUNAVAIL', destinationCause: 34 }, { disposition: 'failed', sipCode: 503, callerCause: 34 }],
    ['router failure', { endedBy: 'router' }, { disposition: 'failed', sipCode: 503, callerCause: 34 }],
  ])('%s', (_name, facts, expected) => {
    expect(callOutcome({ ...base, ...facts })).toEqual(expected);
  });
});

describe('recordEndedBy', () => {
  it('a connected leg hung up for lack of RTP (cause 44) is a media timeout, whichever party vanished', () => {
    expect(recordEndedBy({ endedBy: 'caller', endingCause: 44, answered: true })).toBe('media-timeout');
    expect(recordEndedBy({ endedBy: 'destination', endingCause: 44, answered: true })).toBe('media-timeout');
    expect(recordEndedBy({ endedBy: 'destination', endingCause: 16, answered: true })).toBe('destination');
    // Not answered: 44 is a failed dial (no channel available), not a dead call.
    expect(recordEndedBy({ endedBy: 'destination', endingCause: 44, answered: false })).toBe('destination');
    expect(recordEndedBy({ endedBy: 'router', endingCause: 44, answered: true })).toBe('router');
  });
});

describe('endEventCause', () => {
  const channel = { id: 'c1', name: 'PJSIP/carrier-1', state: 'Up', caller: { number: '', name: '' }, dialplan: { context: '', exten: '', priority: 1 } } as never;
  it('reads the Q.850 cause of ChannelDestroyed and of a hard hangup request, never the reason of a soft one', () => {
    expect(endEventCause({ type: 'ChannelDestroyed', channel, cause: 44, cause_txt: '', application: 'a', timestamp: '' })).toBe(44);
    expect(endEventCause({ type: 'ChannelHangupRequest', channel, cause: 17, application: 'a', timestamp: '' })).toBe(17);
    expect(endEventCause({ type: 'ChannelHangupRequest', channel, cause: 1, soft: true, application: 'a', timestamp: '' })).toBeNull();
    expect(endEventCause({ type: 'StasisEnd', channel, application: 'a', timestamp: '' })).toBeNull();
  });
});

describe('call states', () => {
  const all: CallState[] = ['received', 'routing', 'dialing', 'bridged', 'ending', 'ended', 'rejected'];
  it('ended is reachable from every non-terminal state', () => {
    for (const s of all.filter((x) => x !== 'ended')) expect(canTransition(s, 'ended')).toBe(true);
  });
  it('terminal states are sticky: late events do not rewrite them', () => {
    for (const to of all) expect(nextState('ended', to)).toBe('ended');
    expect(nextState('bridged', 'dialing')).toBe('bridged');
    expect(nextState('rejected', 'bridged')).toBe('rejected');
  });
  it.each<[CallState, CallState, boolean]>([
    ['received', 'routing', true],
    ['routing', 'dialing', true],
    ['routing', 'rejected', true],
    ['dialing', 'bridged', true],
    ['received', 'bridged', false],
    ['ending', 'bridged', false],
  ])('%s → %s allowed: %s', (from, to, ok) => {
    expect(canTransition(from, to)).toBe(ok);
  });
});

describe('loadConfig', () => {
  const good = { CALLROUTE_ADMIN_TOKEN: 'a'.repeat(32), ARI_PASSWORD: 'secret' };
  it('applies defaults and freezes', () => {
    const c = loadConfig(good);
    expect(c.ari).toMatchObject({ url: 'http://127.0.0.1:8088', host: '127.0.0.1', port: 8088, app: 'callroute' });
    expect(c.routing.rejectSipCode).toBe(404);
    expect(Object.isFrozen(c.sip)).toBe(true);
  });
  it('names the node after the host unless NODE_ID says otherwise, and refuses a name that would break channel ids', () => {
    expect(loadConfig(good).nodeId).toBe(defaultNodeId());
    expect(defaultNodeId('db-1.example.net')).toBe('db-1');
    expect(defaultNodeId('-ops_box!')).toBe('ops_box-');
    expect(defaultNodeId('')).toBe('node');
    expect(loadConfig({ ...good, NODE_ID: 'edge-2' }).nodeId).toBe('edge-2');
    expect(() => loadConfig({ ...good, NODE_ID: 'a.b' })).toThrow(/NODE_ID must be/);
  });
  it('names every bad key in one error', () => {
    let message = '';
    try {
      loadConfig({ SIP_PORT: 'x', REJECT_SIP_CODE: '499', FALLBACK_MODE: 'dial' });
    } catch (err) {
      message = (err as Error).message;
    }
    for (const key of ['CALLROUTE_ADMIN_TOKEN', 'ARI_PASSWORD', 'SIP_PORT', 'REJECT_SIP_CODE', 'FALLBACK_DESTINATION']) {
      expect(message).toContain(key);
    }
  });
});
