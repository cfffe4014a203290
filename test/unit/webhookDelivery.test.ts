import { describe, expect, it } from 'vitest';
import { retryDelayMs } from '../../src/integrations/webhooks/createWebhookDispatcher.js';
import { allowedNetworkList, checkDeliveryAddress, mayDeliverTo } from '../../src/integrations/webhooks/deliveryAddress.js';
import { signatureHeader, verifySignature } from '../../src/integrations/webhooks/webhookSignature.js';

const none = allowedNetworkList([]);

describe('mayDeliverTo', () => {
  it.each([
    ['8.8.8.8', true],
    ['93.184.216.34', true],
    ['2606:4700:4700::1111', true],
    ['127.0.0.1', false],
    ['10.20.30.40', false],
    ['172.16.0.1', false],
    ['172.32.0.1', true],
    ['192.168.1.1', false],
    ['169.254.169.254', false],
    ['100.64.0.1', false],
    ['0.0.0.0', false],
    ['224.0.0.1', false],
    ['::1', false],
    ['::', false],
    ['fe80::1', false],
    ['fd12:3456::1', false],
    ['::ffff:127.0.0.1', false],
    ['::ffff:8.8.8.8', true],
  ])('%s → %s', (address, ok) => {
    expect(mayDeliverTo(address, none)).toBe(ok);
  });

  it('lets through exactly the networks the operator allowed', () => {
    const allowed = allowedNetworkList(['127.0.0.1/32', 'fd00::/8']);
    expect(mayDeliverTo('127.0.0.1', allowed)).toBe(true);
    expect(mayDeliverTo('127.0.0.2', allowed)).toBe(false);
    expect(mayDeliverTo('fd00::5', allowed)).toBe(true);
  });
});

describe('checkDeliveryAddress', () => {
  it('refuses a name with any private address among its public ones', async () => {
    const resolve = (async () => [{ address: '8.8.8.8', family: 4 }, { address: '10.0.0.1', family: 4 }]) as never;
    const r = await checkDeliveryAddress(new URL('https://crm.example/hook'), none, resolve);
    expect(r).toMatchObject({ ok: false, reason: expect.stringMatching(/10\.0\.0\.1/) });
  });

  it('answers the checked address, which the connection then uses', async () => {
    const resolve = (async () => [{ address: '93.184.216.34', family: 4 }]) as never;
    expect(await checkDeliveryAddress(new URL('https://crm.example/hook'), none, resolve)).toEqual({ ok: true, address: '93.184.216.34', family: 4 });
  });
});

describe('webhook signatures', () => {
  const body = '{"id":"abc"}';
  it('verify with the secret, within the replay window only', () => {
    const header = signatureHeader(['s1'], 1_000_000, body);
    expect(verifySignature(header, body, 's1', 1_000_100)).toBe(true);
    expect(verifySignature(header, body, 's1', 1_000_301)).toBe(false);
    expect(verifySignature(header, `${body} `, 's1', 1_000_000)).toBe(false);
    expect(verifySignature(header, body, 's2', 1_000_000)).toBe(false);
  });
  it('carry one signature per valid secret during a rotation', () => {
    const header = signatureHeader(['new', 'old'], 1_000_000, body);
    expect(verifySignature(header, body, 'new', 1_000_000)).toBe(true);
    expect(verifySignature(header, body, 'old', 1_000_000)).toBe(true);
  });
});

describe('retryDelayMs', () => {
  it('doubles from the base with jitter in the upper half, capped at an hour', () => {
    expect(retryDelayMs(1, 30_000, 0)).toBe(15_000);
    expect(retryDelayMs(1, 30_000, 1)).toBe(30_000);
    expect(retryDelayMs(3, 30_000, 1)).toBe(120_000);
    expect(retryDelayMs(20, 30_000, 1)).toBe(3_600_000);
  });
});
