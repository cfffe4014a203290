import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createDialplanHookServer, DIALPLAN_SECRET_HEADER } from '../../src/telephony/dialplanHook/createDialplanHookServer.js';
import { dialplanHookSecret } from '../../src/telephony/dialplanHook/dialplanHookSecret.js';
import type { DialplanChannel, DialplanEndReport } from '../../src/telephony/session/DialplanCall.js';

const SECRET = dialplanHookSecret('ari-password');

describe('the dialplan hook (HTTP on loopback)', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => close?.());

  async function start() {
    const routed: DialplanChannel[] = [];
    const ended: Array<{ id: string; report: DialplanEndReport }> = [];
    const server = createDialplanHookServer({
      host: '127.0.0.1',
      port: 0,
      secret: SECRET,
      logger: pino({ level: 'silent' }),
      route: (channel) => {
        routed.push(channel);
        return 'cr~30~r~+15550001111~';
      },
      ended: (id, report) => {
        ended.push({ id, report });
        return id !== 'unknown';
      },
    });
    const port = await server.listen();
    close = () => server.close();
    const call = (path: string, init: RequestInit = {}, secret: string | null = SECRET) =>
      fetch(`http://127.0.0.1:${port}${path}`, { ...init, headers: { ...(secret === null ? {} : { [DIALPLAN_SECRET_HEADER]: secret }), ...(init.headers ?? {}) } });
    return { routed, ended, call };
  }

  it('answers the routing request with the verdict as plain text', async () => {
    const { routed, call } = await start();
    const res = await call('/dialplan/route?uid=1763865693.12&channel=PJSIP%2Fcarrier-00000001&exten=%2B15551230000&caller=5559876543&name=Pat%20%28home%29');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('cr~30~r~+15550001111~');
    expect(routed).toEqual([
      { id: '1763865693.12', name: 'PJSIP/carrier-00000001', dialplan: { context: 'from-carrier', exten: '+15551230000', priority: 1 }, caller: { number: '5559876543', name: 'Pat (home)' } },
    ]);
  });

  it('takes the end report as a form and answers ok, even for a call it does not know', async () => {
    const { ended, call } = await start();
    const body = 'uid=1763865693.12&dialstatus=ANSWER&answered_ms=4200&dial_returned=1&cause=16';
    const res = await call('/dialplan/ended', { method: 'POST', body });
    expect([res.status, await res.text()]).toEqual([200, 'ok']);
    expect(ended).toEqual([{ id: '1763865693.12', report: { dialStatus: 'ANSWER', answeredMs: 4200, dialReturned: true, cause: 16, endedAt: null } }]);
    const unknown = await call('/dialplan/ended', { method: 'POST', body: 'uid=unknown&dialstatus=BUSY' });
    expect([unknown.status, await unknown.text()]).toEqual([200, 'ok']);
  });

  it.each([
    ['no secret', null],
    ['a wrong secret', 'x'.repeat(64)],
    ['a secret of another length', 'short'],
  ])('refuses a request with %s (401), deciding nothing', async (_name, secret) => {
    const { routed, call } = await start();
    const res = await call('/dialplan/route?uid=1&exten=%2B15551230000', {}, secret);
    expect(res.status).toBe(401);
    expect(routed).toEqual([]);
  });

  it.each([
    ['/dialplan/route?exten=%2B15551230000', 'missing uid'],
    ['/dialplan/route?uid=1', 'missing exten'],
  ])('a malformed routing request is a 400 naming the field: %s', async (path, message) => {
    const { routed, call } = await start();
    const res = await call(path);
    expect([res.status, await res.text()]).toEqual([400, message]);
    expect(routed).toEqual([]);
  });

  it('a malformed end report is a 400; an unknown path a 404; an oversized body a 413', async () => {
    const { call } = await start();
    expect((await call('/dialplan/ended', { method: 'POST', body: 'dialstatus=ANSWER' })).status).toBe(400);
    expect((await call('/v1/calls')).status).toBe(404);
    const big = await call('/dialplan/ended', { method: 'POST', body: `uid=1&pad=${'x'.repeat(10_000)}` }).catch(() => null);
    expect(big === null || big.status === 413).toBe(true);
  });
});
