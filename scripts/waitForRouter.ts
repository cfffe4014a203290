/** Waits until the router's health endpoint reports the Asterisk connection up (start.sh). */
import { loadConfig } from '../src/config/loadConfig.js';

const config = loadConfig();
const url = `http://${config.http.host}:${config.http.port}/health`;
const deadline = Date.now() + 20_000;
let last = 'no answer';
while (Date.now() < deadline) {
  try {
    const res = await fetch(url);
    const body = (await res.json()) as { ari?: string };
    if (body.ari === 'connected') process.exit(0);
    last = `ari ${body.ari ?? 'unknown'}`;
  } catch (err) {
    last = (err as Error).message;
  }
  await new Promise((r) => setTimeout(r, 200));
}
process.stderr.write(`router did not become ready at ${url}: ${last} (see data/router.log)\n`);
process.exit(1);
