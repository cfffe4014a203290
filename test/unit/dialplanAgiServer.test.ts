import net from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createDialplanAgiServer, parseAgiEnvironment } from '../../src/telephony/dialplanHook/createDialplanAgiServer.js';
import { dialplanHookSecret } from '../../src/telephony/dialplanHook/dialplanHookSecret.js';
import type { DialplanChannel } from '../../src/telephony/session/DialplanCall.js';

const SECRET = dialplanHookSecret('ari-password');

/** What Asterisk's res_agi sends when a FastAGI session starts (trimmed to what matters). */
function agiEnvironment(script: string, args: string[], extra: Record<string, string> = {}): string {
  const vars: Record<string, string> = {
    agi_network: 'yes',
    agi_network_script: script,
    agi_request: `agi://127.0.0.1:8079/${script}`,
    agi_channel: 'PJSIP/carrier-00000001',
    agi_uniqueid: '1763865693.12',
    agi_callerid: '5559876543',
    agi_calleridname: 'Pat',
    agi_dnid: '+15551230000',
    agi_context: 'from-carrier',
    agi_extension: '+15551230000',
    agi_priority: '1',
    ...extra,
  };
  args.forEach((a, i) => (vars[`agi_arg_${i + 1}`] = a));
  return `${Object.entries(vars).map(([k, v]) => `${k}: ${v}`).join('\n')}\n\n`;
}

/** Plays Asterisk: sends the environment, collects what the router says until it closes. */
function session(port: number, env: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(env));
    let got = '';
    s.on('data', (c) => (got += c.toString()));
    s.on('end', () => {
      s.end();
      resolve(got);
    });
    s.on('error', reject);
  });
}

describe('the dialplan door (FastAGI on loopback)', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => close?.());

  async function start() {
    const routed: DialplanChannel[] = [];
    const server = createDialplanAgiServer({
      host: '127.0.0.1',
      port: 0,
      secret: SECRET,
      logger: pino({ level: 'silent' }),
      route: (channel) => {
        routed.push(channel);
        return 'cr~30~r~+15550001111~';
      },
    });
    const port = await server.listen();
    close = () => server.close();
    return { routed, port };
  }

  it('answers a routing session with one SET VARIABLE and closes', async () => {
    const { routed, port } = await start();
    expect(await session(port, agiEnvironment(`route/${SECRET}`, []))).toBe('SET VARIABLE CR_ROUTE "cr~30~r~+15550001111~"\n');
    expect(routed).toEqual([
      { id: '1763865693.12', name: 'PJSIP/carrier-00000001', dialplan: { context: 'from-carrier', exten: '+15551230000', priority: 1 }, caller: { number: '5559876543', name: 'Pat' } },
    ]);
  });

  it('the refusal script of older configurations is gone: closed with nothing set (refusals are lines in the end report file)', async () => {
    const { routed, port } = await start();
    expect(await session(port, agiEnvironment(`refuse/${SECRET}`, ['busy']))).toBe('');
    expect(routed).toEqual([]);
  });

  it('an absent caller ID (AGI says "unknown") is empty', async () => {
    const { routed, port } = await start();
    await session(port, agiEnvironment(`route/${SECRET}`, [], { agi_callerid: 'unknown', agi_calleridname: 'unknown' }));
    expect(routed[0]?.caller).toEqual({ number: '', name: '' });
  });

  it.each([
    ['no secret', agiEnvironment('route', [])],
    ['a wrong secret', agiEnvironment(`route/${'x'.repeat(64)}`, [])],
    ['the secret as an argument, not in the path', agiEnvironment('route', [SECRET])],
    ['an unknown script', agiEnvironment(`transfer/${SECRET}`, [])],
    ['no dialed number', agiEnvironment(`route/${SECRET}`, [], { agi_dnid: 'unknown', agi_extension: '' })],
  ])('%s: closed with nothing set, nothing decided', async (_name, env) => {
    const { routed, port } = await start();
    expect(await session(port, env)).toBe('');
    expect(routed).toEqual([]);
  });

  it('a peer that never finishes its environment block is cut off at 8 KiB', async () => {
    const { routed, port } = await start();
    const reply = await session(port, `agi_network: yes\n${'x'.repeat(10_000)}`).catch(() => '');
    expect(reply).toBe('');
    expect(routed).toEqual([]);
  });

  it('answers a routing session as soon as the dialed number has arrived, before the block ends', async () => {
    const { routed, port } = await start();
    const reply = await new Promise<string>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => {
        // Asterisk writes a line at a time; stop after agi_dnid and wait for the answer.
        s.write(agiEnvironment(`route/${SECRET}`, []).split('agi_context')[0] as string);
      });
      let got = '';
      s.on('data', (c) => {
        got += c.toString();
        if (got.endsWith('\n')) {
          s.write('agi_context: from-carrier\n\n');
          resolve(got);
        }
      });
      s.on('error', reject);
    });
    expect(reply).toBe('SET VARIABLE CR_ROUTE "cr~30~r~+15550001111~"\n');
    expect(routed).toHaveLength(1);
  });

  it('without a DNID it waits for agi_extension', async () => {
    const { routed, port } = await start();
    await session(port, agiEnvironment(`route/${SECRET}`, [], { agi_dnid: 'unknown' }));
    expect(routed[0]?.dialplan.exten).toBe('+15551230000');
  });

  it('reads the environment block line by line, CRLF or LF', () => {
    expect(parseAgiEnvironment('agi_uniqueid: 1.2\r\nagi_arg_1: abc\r\nnoise\n')).toEqual(new Map([['agi_uniqueid', '1.2'], ['agi_arg_1', 'abc']]));
  });
});
