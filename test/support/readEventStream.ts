import { request as httpRequest, type IncomingMessage } from 'node:http';

export interface StreamEvent<T = unknown> {
  id: string;
  event: string;
  data: T;
  /** When the test received it (ms). */
  receivedAt: number;
}

/**
 * Opens a server-sent-events stream (GET /v1/live) and collects its events as they come, parsed.
 * Comment lines (heartbeats) and the retry field are skipped.
 */
export function readEventStream<T = unknown>(url: string, headers: Record<string, string>): Promise<{ res: IncomingMessage; events: Array<StreamEvent<T>> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers }, (res) => {
      const events: Array<StreamEvent<T>> = [];
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = Object.fromEntries(
            block
              .split('\n')
              .filter((l) => !l.startsWith(':') && l.includes(': '))
              .map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)]),
          );
          if (fields.event) events.push({ id: fields.id ?? '', event: fields.event, data: JSON.parse(fields.data ?? '{}') as T, receivedAt: Date.now() });
        }
      });
      resolve({ res, events });
    });
    req.on('error', reject);
    req.end();
  });
}
