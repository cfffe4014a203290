import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/loadConfig.js';
import { dialplanHookSecret } from '../../src/telephony/dialplanHook/dialplanHookSecret.js';
import { carrierEntry, renderAsteriskConfig } from '../../scripts/renderAsteriskConfig.js';

const env = { CALLROUTE_ADMIN_TOKEN: 'a'.repeat(32), ARI_PASSWORD: 'ari-secret' };

describe('the carrier entry of the dialplan', () => {
  it('asks the router over FastAGI with the derived secret, then Goto the hand-off, a rejection, or Stasis', () => {
    const text = carrierEntry(loadConfig({ ...env, DIALPLAN_HOOK_PORT: '8123' }));
    expect(text).toContain(`exten => _X.,1,AGI(agi://127.0.0.1:8123/route/${dialplanHookSecret('ari-secret')})`);
    expect(text).toContain('Goto(callroute-direct,${CR_ROUTE},1)');
    expect(text).toContain(' same => n(stasis),Stasis(callroute,inbound)');
    // Both number patterns, and never the ARI password itself.
    expect(text.match(/^exten => /gm)).toHaveLength(2);
    expect(text).not.toContain('ari-secret');
  });

  it('with the hand-off off, every call enters Stasis as before', () => {
    const text = carrierEntry(loadConfig({ ...env, ROUTING_DIALPLAN_HANDOFF: 'false' }));
    expect(text).not.toContain('AGI');
    expect(text.split('\n')[0]).toBe('exten => _X.,1,Stasis(callroute,inbound)');
  });

  it('renders the AGI address and secret into the hangup report and leaves no placeholder', () => {
    const ext = renderAsteriskConfig(loadConfig(env)).get('extensions.conf') ?? '';
    expect(ext).toContain(`AGI(agi://127.0.0.1:8079/ended/${dialplanHookSecret('ari-secret')},\${CR_REPORT})`);
    expect(ext).not.toMatch(/\{\{[A-Z_]+\}\}/);
  });

  it('a bad ROUTING_DIALPLAN_HANDOFF is refused when the config is read', () => {
    expect(() => loadConfig({ ...env, ROUTING_DIALPLAN_HANDOFF: 'yes' })).toThrow(/ROUTING_DIALPLAN_HANDOFF/);
  });
});
