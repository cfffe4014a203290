import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * tcpdump on `lo` into `file` with a capture filter; resolves once it listens. stop() lets it catch
 * up with the kernel's buffer, stops it, and returns the capture and what tcpdump said (drop counts).
 */
export async function startTcpdump(file: string, filter: string[]): Promise<{ stop(): Promise<{ bytes: Buffer; stderr: string }> }> {
  // At sipp's and Asterisk's real-time priority: a normal process gets the CPU only when they leave
  // it, and on a saturated box (the overload phase) tcpdump then dropped hundreds of SIP messages.
  const child = spawn('chrt', ['--rr', '10', 'tcpdump', '-i', 'lo', '-n', '--immediate-mode', '-s', '0', '-B', '32768', '-w', file, ...filter], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const closed = new Promise<void>((res) => child.once('close', () => res()));
  const deadline = Date.now() + 5_000;
  while (!stderr.includes('listening on')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`tcpdump did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    async stop() {
      // tcpdump stops without reading what is still in the kernel's buffer: let it catch up first.
      await new Promise((r) => setTimeout(r, 1500));
      child.kill('SIGINT');
      await closed;
      return { bytes: readFileSync(file), stderr };
    },
  };
}
