/**
 * SIP over TLS, rendered from the config: with SIP_TLS_PORT and a certificate, Asterisk listens for
 * TLS, a trunk reached over it (CARRIER_TRANSPORT=tls, SRTP by SDES) is identified by its host
 * alone (a TLS peer connects from an ephemeral port), and it answers SIP over that connection.
 * sipp here is built without TLS, so no call is placed: the handshake and a request over it are.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAsterisk, type AsteriskHandle } from '../../scripts/asterisk-sandbox.js';
import { loadConfig } from '../../src/config/loadConfig.js';
import { requirePrivateNetwork } from './harness/requirePrivateNetwork.js';

const TLS_PORT = 5061;
let asterisk: AsteriskHandle;
let cert: string;

/** Sends one SIP request over a TLS connection and resolves with the first response's head. */
function sipOverTls(request: string): Promise<{ response: string; peerCert: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: TLS_PORT, ca: cert, checkServerIdentity: () => undefined }, () => {
      socket.write(request);
    });
    let data = '';
    socket.setTimeout(5000, () => socket.destroy(new Error(`no SIP response over TLS (got ${JSON.stringify(data)})`)));
    socket.on('data', (c: Buffer) => {
      data += c.toString('utf8');
      if (data.includes('\r\n\r\n')) {
        const peerCert = socket.getPeerCertificate().subject?.CN ?? '';
        socket.end();
        resolve({ response: data, peerCert: String(peerCert) });
      }
    });
    socket.on('error', reject);
  });
}

describe('SIP over TLS with SRTP on the carrier trunk', () => {
  beforeAll(async () => {
    requirePrivateNetwork();
    const dir = mkdtempSync(join(tmpdir(), 'callroute-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=callroute-test', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
    const config = loadConfig({
      CALLROUTE_ADMIN_TOKEN: 'tls-admin-token-0123456789abcdef',
      ARI_PASSWORD: 'tls-secret',
      SIP_TLS_PORT: String(TLS_PORT),
      SIP_TLS_CERT_FILE: '/etc/asterisk/keys/callroute.crt',
      SIP_TLS_KEY_FILE: '/etc/asterisk/keys/callroute.key',
      CARRIER_TRANSPORT: 'tls',
      CARRIER_MEDIA_ENCRYPTION: 'sdes',
    });
    asterisk = await startAsterisk(config, {
      instance: 'tls',
      files: { '/etc/asterisk/keys/callroute.crt': cert, '/etc/asterisk/keys/callroute.key': readFileSync(join(dir, 'key.pem'), 'utf8') },
    });
  }, 120_000);

  afterAll(async () => {
    await asterisk?.stop();
  });

  it('Asterisk presents the configured certificate and answers the carrier over TLS (identified by host, any source port)', async () => {
    const request = [
      'OPTIONS sip:127.0.0.1:5061;transport=tls SIP/2.0',
      'Via: SIP/2.0/TLS 127.0.0.1:40000;branch=z9hG4bK-tls-1;rport',
      'From: <sip:carrier@127.0.0.1>;tag=t1',
      'To: <sip:callroute@127.0.0.1>',
      'Call-ID: tls-options-1@127.0.0.1',
      'CSeq: 1 OPTIONS',
      'Contact: <sip:carrier@127.0.0.1:40000;transport=tls>',
      'Max-Forwards: 70',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    const { response, peerCert } = await sipOverTls(request);
    expect(peerCert).toBe('callroute-test');
    // Identified as the carrier (no 401 challenge) although it came from an ephemeral port.
    expect(response.split('\r\n')[0]).toBe('SIP/2.0 200 OK');
    expect(response).toMatch(/^Via: SIP\/2\.0\/TLS /m);
  });
});
