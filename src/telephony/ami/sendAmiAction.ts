import { createHmac } from 'node:crypto';
import { connect } from 'node:net';

/** The AMI user's secret (manager.conf), derived from the ARI password like the dialplan hook's. */
export function amiSecret(ariPassword: string): string {
  return createHmac('sha256', ariPassword).update('callroute ami').digest('hex');
}

/** The AMI user the rendered manager.conf defines. */
export const AMI_USERNAME = 'callroute';

export interface AmiTarget {
  host: string;
  port: number;
  secret: string;
  /** Whole exchange (connect, login, action, logoff). Default 3 s. */
  timeoutMs?: number;
}

/** One AMI message: `Key: Value` lines up to a blank line. */
function parseMessage(block: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of block.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return out;
}

function encode(action: Record<string, string>): string {
  return `${Object.entries(action)
    .map(([k, v]) => {
      if (/[\r\n]/.test(k + v)) throw new Error(`AMI field ${k} holds a line break`);
      return `${k}: ${v}`;
    })
    .join('\r\n')}\r\n\r\n`;
}

/**
 * Sends one AMI action on a connection of its own (log in with events off, the action, log off) and
 * resolves with its response; rejects on `Response: Error` (with Asterisk's message), a refused
 * login, a closed connection or the timeout. Pauses are rare, so no connection is kept open.
 */
export function sendAmiAction(target: AmiTarget, action: Record<string, string>): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: target.host, port: target.port });
    let buffer = '';
    let stage: 'banner' | 'login' | 'action' | 'done' = 'banner';
    const finish = (err: Error | null, response?: Record<string, string>): void => {
      if (stage === 'done') return;
      stage = 'done';
      clearTimeout(timer);
      if (!socket.destroyed) socket.end(encode({ Action: 'Logoff' }));
      if (err) reject(err);
      else resolve(response ?? {});
    };
    const timer = setTimeout(() => {
      finish(new Error(`AMI ${action.Action ?? ''}: no answer within ${target.timeoutMs ?? 3000} ms`));
      socket.destroy();
    }, target.timeoutMs ?? 3000);
    socket.setEncoding('utf8');
    socket.on('error', (err) => finish(new Error(`AMI: ${err.message}`)));
    socket.on('close', () => finish(new Error('AMI closed the connection')));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      if (stage === 'banner') {
        const eol = buffer.indexOf('\r\n');
        if (eol < 0) return;
        buffer = buffer.slice(eol + 2);
        stage = 'login';
        socket.write(encode({ Action: 'Login', Username: AMI_USERNAME, Secret: target.secret, Events: 'off' }));
      }
      for (let end = buffer.indexOf('\r\n\r\n'); end >= 0; end = buffer.indexOf('\r\n\r\n')) {
        const message = parseMessage(buffer.slice(0, end));
        buffer = buffer.slice(end + 4);
        if (message.response === undefined) continue; // an event
        if (stage === 'login') {
          if (message.response !== 'Success') return finish(new Error(`AMI login refused: ${message.message ?? ''}`));
          stage = 'action';
          socket.write(encode({ ...action, ActionID: 'callroute-1' }));
        } else if (stage === 'action') {
          if (message.response === 'Error') return finish(new Error(`AMI ${action.Action ?? ''}: ${message.message ?? 'error'}`));
          return finish(null, message);
        }
      }
    });
  });
}
