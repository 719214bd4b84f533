/**
 * A data-plane worker (worker_threads entry point): runs the configuration
 * in its own Lua state, binds every listener with SO_REUSEPORT (the kernel
 * spreads clients over the workers), and answers queries through the whole
 * query path. Console, webserver, health checks, BPF pins and XDP,
 * maintenance() and dynamic-block groups act only in the control plane:
 * here backends are up or down as the control plane says, the dynamic
 * blocks are the control plane's (worker-dyn-blocks.ts), the rings are
 * read by it on demand (worker-rings.ts), and the counters go to this
 * worker's row of the shared buffer.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { DnsdistApp } from '../app/dnsdist-app.js';
import { CounterLayout } from './counter-layout.js';
import { keepKernelOutOfWorkerCopy } from './worker-dyn-blocks.js';
import type { ControlToWorker, WorkerStart, WorkerToControl } from './worker-messages.js';
import { takeRingShare } from './worker-rings.js';
import { serveWorkerState } from './worker-state-pull.js';

/** How often the counters are copied to the shared buffer: totals lag the queries by at most this. */
const PUBLISH_INTERVAL_MS = 100;

const start = workerData as WorkerStart;
const port = parentPort!;
const post = (m: WorkerToControl): void => port.postMessage(m);
let started = false;

async function run(): Promise<void> {
  const app = new DnsdistApp({
    ...start.options,
    role: 'worker',
    // The control plane printed the configuration's output once; afterwards print() from rules is shown.
    output: (line) => {
      if (started) post({ type: 'log', level: 'info', line });
    },
  });
  // Until it listens, a worker repeats what the control plane logged loading the same configuration: only errors go up.
  app.proxy.log.sink = (level, line) => {
    if (started || level === 'error') post({ type: 'log', level, line });
  };
  app.proxy.quietListeners = true;
  keepKernelOutOfWorkerCopy(app.dynBlocks);
  await app.loadConfiguration();
  // The configured ring size is the process's: each worker keeps its share (worker-rings.ts).
  takeRingShare(app.rings, app.workerSettings.count);
  // This block table is a copy of the control plane's: fleet sync and the CrowdSec watcher follow that one, not this.
  app.dynBlocks.observer = undefined;
  applyServerStates(app, start.serversUp);
  app.proxy.setACL(start.acl);
  app.proxy.listenerConfigs().forEach((fc, i) => {
    fc.reusePort = true;
    if (start.ports) fc.port = start.ports[i]!;
  });
  await app.start();
  const layout = new CounterLayout(app.proxy);
  const row = new Float64Array(start.counters, start.index * start.rowLength * 8, start.rowLength);
  if (layout.rowLength !== start.rowLength) {
    post({
      type: 'log',
      level: 'error',
      line: `Data-plane worker ${start.index}: its counters (${layout.size}) do not match the control plane's (${start.rowLength - 1}); its statistics are left out`,
    });
  } else {
    const publish = setInterval(() => layout.write(row), PUBLISH_INTERVAL_MS);
    void app.stopped.then(() => clearInterval(publish));
  }
  port.on('message', (m: ControlToWorker) => {
    if (m.type === 'servers') applyServerStates(app, m.up);
    else if (m.type === 'acl') app.proxy.setACL(m.masks);
    else if (m.type === 'stop') void app.stop().then(() => port.close());
  });
  serveWorkerState(port, start.index, { rings: app.rings, dynBlocks: app.dynBlocks, servers: () => app.proxy.servers });
  started = true;
  post({
    type: 'listening',
    ports: app.proxy.frontends.map((f) => f.udp.local.port),
    kinds: app.proxy.frontends.map((f) => f.udp.endpoint.kind),
  });
}

/** Backends follow the control plane's health checks and console (setUp/setDown/setAuto). */
function applyServerStates(app: DnsdistApp, up: boolean[]): void {
  app.proxy.servers.forEach((s, i) => {
    if (i < up.length) s.availability = up[i] ? 'up' : 'down';
  });
}

run().catch((err: unknown) => {
  post({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
