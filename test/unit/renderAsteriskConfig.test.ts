import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/loadConfig.js';
import { dialplanHookSecret } from '../../src/telephony/dialplanHook/dialplanHookSecret.js';
import { END_REPORT_FILE } from '../../src/telephony/dialplanHook/routeTable.js';
import { carrierEntry, renderAsteriskConfig } from '../../scripts/renderAsteriskConfig.js';

const env = { CALLROUTE_ADMIN_TOKEN: 'a'.repeat(32), ARI_PASSWORD: 'ari-secret' };

describe('the carrier entry of the dialplan', () => {
  it('refuses over MAX_CONCURRENT_CALLS first, reads the routing table behind the gate, asks the router otherwise, then Goto the hand-off, a rejection, or Stasis', () => {
    const text = carrierEntry(loadConfig({ ...env, DIALPLAN_HOOK_PORT: '8123' }));
    const lines = text.split('\n');
    expect(lines.slice(0, 7)).toEqual([
      'exten => _X.,1,Set(GROUP(callroute)=all)',
      // The carrier INVITE's Call-ID, kept on the channel for every record of the call (ARI shows it: ari.conf channelvars).
      ' same => n,Set(CR_CALLID=${CHANNEL(pjsip,call-id)})',
      // Admission counted by Asterisk for every call, before anything is read: MAX_CONCURRENT_CALLS (the gate's second field).
      ' same => n,GotoIf($[0${CUT(CR_GATE,~,2)} > 0 & ${GROUP_COUNT(all@callroute)} > 0${CUT(CR_GATE,~,2)}]?over)',
      ' same => n,GotoIf($[${EPOCH} > 0${CUT(CR_GATE,~,1)}]?ask)',
      ' same => n,Set(CR_ROUTE=${DB(callroute_route/${EXTEN})})',
      // Only an entry of the gate's generation (its fourth field) counts; the rest of it is the entry.
      ' same => n,GotoIf($["${CUT(CR_ROUTE,~,1)}" != "${CUT(CR_GATE,~,4)}" | "${CR_ROUTE}" = ""]?ask)',
      ' same => n,Set(CR_ROUTE=${CUT(CR_ROUTE,~,2-)})',
    ]);
    expect(text).toContain(` same => n,AGI(agi://127.0.0.1:8123/route/${dialplanHookSecret('ari-secret')}/\${URIENCODE(\${CR_CALLID})})`);
    // MAX_CALLS_PER_SECOND (the gate's third field), once the number is known: admitted calls grouped by the second they came in; then the number's cap.
    expect(text).toContain(' same => n(admit),GotoIf($[0${CUT(CR_GATE,~,3)} > 0 & ${GROUP_COUNT(${EPOCH}@callroute_second)} >= 0${CUT(CR_GATE,~,3)}]?rate)');
    expect(text).toContain(' same => n,Set(GROUP(callroute_second)=${EPOCH})');
    expect(text).toContain(` same => n(rate),Set(FILE(${END_REPORT_FILE},,,al,u)=\${UNIQUEID} refused=rate&`);
    expect(text).toContain('${GROUP_COUNT(${CR_NUM}@callroute_number)} > ${CUT(CR_ROUTE,~,2)}]?busy)');
    // Refusals are lines in the end report file, with no round trip to the router.
    expect(text).toContain(` same => n(busy),Set(FILE(${END_REPORT_FILE},,,al,u)=\${UNIQUEID} refused=busy&dialed=\${URIENCODE(\${CALLERID(dnid)})}&`);
    expect(text).toContain('&sip_call_id=${URIENCODE(${CR_CALLID})}&');
    expect(text).toContain(` same => n(over),Set(FILE(${END_REPORT_FILE},,,al,u)=\${UNIQUEID} refused=over&`);
    expect(text).not.toContain('/refuse/');
    expect(text).toContain('Goto(callroute-direct,${CR_ROUTE},1)');
    expect(text).toContain(' same => n(stasis),Stasis(callroute,inbound)');
    // National caller IDs are presented in E.164, as the router would.
    expect(text).toContain(' same => n(cid3),Set(CALLERID(num)=+1${CR_CID:0})');
    // Both number patterns, and never the ARI password itself.
    expect(text.match(/^exten => /gm)).toHaveLength(2);
    expect(text).not.toContain('ari-secret');
  });

  it('with the hand-off off, every call enters Stasis as before', () => {
    const text = carrierEntry(loadConfig({ ...env, ROUTING_DIALPLAN_HANDOFF: 'false' }));
    expect(text).not.toContain('AGI');
    expect(text.split('\n').slice(0, 2)).toEqual(['exten => _X.,1,Set(CR_CALLID=${CHANNEL(pjsip,call-id)})', ' same => n,Stasis(callroute,inbound)']);
  });

  it('renders the AGI address and secret, and the end report file the router reads, and leaves no placeholder', () => {
    const ext = renderAsteriskConfig(loadConfig(env)).get('extensions.conf') ?? '';
    expect(ext).toContain(`AGI(agi://127.0.0.1:8079/route/${dialplanHookSecret('ari-secret')}/\${URIENCODE(\${CR_CALLID})})`);
    expect(ext).toContain(`Set(FILE(${END_REPORT_FILE},,,al,u)=\${UNIQUEID} dialstatus=`);
    expect(ext).not.toMatch(/\{\{[A-Z_]+\}\}/);
  });

  it('a bad ROUTING_DIALPLAN_HANDOFF is refused when the config is read', () => {
    expect(() => loadConfig({ ...env, ROUTING_DIALPLAN_HANDOFF: 'yes' })).toThrow(/ROUTING_DIALPLAN_HANDOFF/);
  });
});

describe('dead calls in the trunk endpoints', () => {
  it('every trunk endpoint gets the RTP timeouts and session timers from the config, with defaults that clear a vanished party within a minute', () => {
    const pjsip = renderAsteriskConfig(loadConfig(env)).get('pjsip.conf') ?? '';
    const defaults = pjsip.slice(pjsip.indexOf('[trunk-defaults](!)'), pjsip.indexOf('[carrier](trunk-defaults)'));
    expect(defaults).toContain('rtp_timeout = 30\n');
    expect(defaults).toContain('rtp_timeout_hold = 600\n');
    expect(defaults).toContain('timers = yes\n');
    expect(defaults).toContain('timers_sess_expires = 300');
    expect(pjsip).not.toMatch(/\{\{[A-Z_]+\}\}/);

    const tuned = renderAsteriskConfig(
      loadConfig({ ...env, RTP_TIMEOUT_SECONDS: '3', RTP_TIMEOUT_HOLD_SECONDS: '0', SIP_SESSION_TIMERS: 'no', SIP_SESSION_EXPIRES_SECONDS: '1800' }),
    ).get('pjsip.conf');
    expect(tuned).toContain('rtp_timeout = 3\nrtp_timeout_hold = 0\ntimers = no\ntimers_min_se = 90\ntimers_sess_expires = 1800');
  });

  it('refuses settings Asterisk would not take, naming the variable', () => {
    expect(() => loadConfig({ ...env, SIP_SESSION_TIMERS: 'sometimes' })).toThrow(/SIP_SESSION_TIMERS must be one of yes, always, no/);
    expect(() => loadConfig({ ...env, SIP_SESSION_EXPIRES_SECONDS: '30' })).toThrow(/SIP_SESSION_EXPIRES_SECONDS/);
    expect(() => loadConfig({ ...env, RTP_TIMEOUT_SECONDS: '-1' })).toThrow(/RTP_TIMEOUT_SECONDS/);
  });
});

describe('SIP over TLS and SRTP', () => {
  it('without SIP_TLS_PORT: no TLS transport, both trunks on UDP identified by address and port', () => {
    const pjsip = renderAsteriskConfig(loadConfig(env)).get('pjsip.conf') ?? '';
    expect(pjsip).not.toContain('[transport-tls]');
    expect(pjsip).not.toContain('media_encryption');
    expect(pjsip.match(/^transport = transport-udp$/gm)).toHaveLength(2);
    expect(pjsip).toContain('match = 127.0.0.1:5070\n');
    expect(pjsip).toContain('contact = sip:127.0.0.1:5080\n');
  });

  it('a trunk over TLS with SDES-SRTP: the transport with its certificate, the trunk identified by host, the outbound contact says transport=tls', () => {
    const pjsip =
      renderAsteriskConfig(
        loadConfig({
          ...env,
          SIP_TLS_PORT: '5061',
          SIP_TLS_CERT_FILE: '/etc/asterisk/keys/sip.crt',
          SIP_TLS_KEY_FILE: '/etc/asterisk/keys/sip.key',
          CARRIER_TRANSPORT: 'tls',
          CARRIER_MEDIA_ENCRYPTION: 'sdes',
          OUTBOUND_TRUNK_TRANSPORT: 'tls',
          OUTBOUND_TRUNK_ADDRESS: '198.51.100.20:5061',
        }),
      ).get('pjsip.conf') ?? '';
    expect(pjsip).toContain('[transport-tls]\ntype = transport\nprotocol = tls\nbind = 127.0.0.1:5061\ncert_file = /etc/asterisk/keys/sip.crt\npriv_key_file = /etc/asterisk/keys/sip.key\nmethod = tlsv1_2');
    expect(pjsip).toContain('context = from-carrier\ntransport = transport-tls\nmedia_encryption = sdes\n');
    expect(pjsip).toContain('match = 127.0.0.1\n');
    expect(pjsip).toContain('contact = sip:198.51.100.20:5061;transport=tls\n');
    expect(pjsip).toContain('context = from-destinations\ntransport = transport-tls\n');
    expect(pjsip).toContain('match = 198.51.100.20\n');
  });

  it('refuses combinations that would not work or would leak SRTP keys', () => {
    expect(() => loadConfig({ ...env, SIP_TLS_PORT: '5061' })).toThrow(/SIP_TLS_PORT needs SIP_TLS_CERT_FILE and SIP_TLS_KEY_FILE/);
    expect(() => loadConfig({ ...env, CARRIER_TRANSPORT: 'tls' })).toThrow(/CARRIER_TRANSPORT=tls needs SIP_TLS_PORT/);
    expect(() => loadConfig({ ...env, OUTBOUND_TRUNK_MEDIA_ENCRYPTION: 'sdes' })).toThrow(/OUTBOUND_TRUNK_MEDIA_ENCRYPTION=sdes needs OUTBOUND_TRUNK_TRANSPORT=tls/);
    expect(() => loadConfig({ ...env, CARRIER_TRANSPORT: 'tcp' })).toThrow(/CARRIER_TRANSPORT must be one of udp, tls/);
  });
});
