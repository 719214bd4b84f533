#!/usr/bin/env node
/**
 * dnsdist-ts-demo-backend [HOST:]PORT — serve the demo zone (example.test)
 * until SIGTERM/SIGINT. `make run` starts it next to the proxy.
 */
import { startDemoServer } from './demo-authoritative-server.js';

const arg = process.argv[2] ?? '127.0.0.1:5301';
const m = /^(?:(.*):)?(\d+)$/.exec(arg);
if (!m) {
  process.stderr.write(`usage: demo-backend [HOST:]PORT (got '${arg}')\n`);
  process.exit(1);
}
const host = (m[1] ?? '127.0.0.1').replace(/^\[|\]$/g, '');
const server = await startDemoServer(host, Number(m[2]));
process.stdout.write(`demo backend: serving example.test on ${host}:${server.port} (UDP and TCP)\n`);
const stop = (): void => {
  void server.close().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
