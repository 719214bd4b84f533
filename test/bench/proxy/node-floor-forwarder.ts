/**
 * The floor for a UDP forwarder in Node: the proxy's own native endpoint
 * (recvmmsg/sendmmsg through the event loop, a connected backend socket) and
 * nothing else in JavaScript but a query-ID remap. No parsing, rules, rings,
 * counters or timeouts. proxy.bench.ts measures it next to dnsdist and
 * dnsdist-ts (its `floor` row) to show how much of dnsdist-ts's cost is Node's
 * per-wake-up price and how much is the proxy's work.
 *
 * With WORKERS above 1 it is the floor of dnsdist-ts's data-plane workers:
 * that many worker threads, each with its own SO_REUSEPORT listener and its
 * own backend socket, as dnsdist-ts --workers N has (`floor ×N` rows). It
 * prints "floor workers listening" once every one of them listens.
 *
 * With CACHE=1 in the environment it is the floor of the `cache` row
 * (`cache-floor`): each worker keeps the first answer to each question
 * (keyed by a hash of the query past its ID, nothing else checked) and
 * answers repeats itself, copying the kept answer with the client's ID:
 * what a Node thread costs per cache hit before the proxy's parse, key,
 * checks, TTL ageing, rules, rings and counters. Each worker keeps its own
 * answers (the proxy's workers share theirs); on the benchmark's 200 names
 * that changes the misses only.
 *
 *   [CACHE=1] node --import tsx test/bench/proxy/node-floor-forwarder.ts LISTEN_PORT BACKEND_PORT [WORKERS]
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { startFloorWorkers } from './floor-workers.js';
import { createNativeUdpEndpoint } from '../../../packages/dataplane/src/io/native-udp-endpoint.js';

const args = (isMainThread ? process.argv.slice(2) : (workerData as string[])).map(Number);
const [listenPort, backendPort, workers = 1] = args;
if (!Number.isInteger(listenPort) || !Number.isInteger(backendPort) || !Number.isInteger(workers) || workers < 1) {
  console.error('usage: node-floor-forwarder.ts LISTEN_PORT BACKEND_PORT [WORKERS]');
  process.exit(2);
}

if (isMainThread && workers > 1) {
  startFloorWorkers(import.meta.url, [String(listenPort), String(backendPort), '1'], workers);
} else forward(listenPort!, backendPort!);

function forward(listenPort: number, backendPort: number): void {
  const frontend = createNativeUdpEndpoint({ address: '127.0.0.1', port: listenPort, reusePort: !isMainThread });
  const backend = createNativeUdpEndpoint({ address: '127.0.0.1', port: 0, connect: { address: '127.0.0.1', port: backendPort } });
  const BACKEND = Uint8Array.of(127, 0, 0, 1);

  // One slot per outgoing ID: the client's ID, port and address (IPv4 loopback only).
  const clientIds = new Uint16Array(65536);
  const clientPorts = new Uint16Array(65536);
  const clientAddresses = new Uint8Array(65536 * 4);
  const clientAddressViews = Array.from({ length: 65536 }, (_, i) => clientAddresses.subarray(4 * i, 4 * i + 4));
  let nextId = 0;
  const cache = process.env.CACHE === '1' ? new Map<number, Uint8Array>() : undefined;
  // The question each outgoing ID carried, for storing its answer.
  const questionKeys = new Float64Array(65536);

  frontend.onDatagram((data, length, from, fromPort) => {
    if (length < 12 || from.length !== 4) return;
    if (cache !== undefined) {
      // FNV-1a over the query past its ID.
      let h = 0x811c9dc5;
      for (let i = 2; i < length; i++) h = Math.imul(h ^ data[i]!, 0x01000193);
      const key = h >>> 0;
      const answer = cache.get(key);
      if (answer !== undefined) {
        answer[0] = data[0]!;
        answer[1] = data[1]!;
        frontend.send(answer, answer.length, from, fromPort);
        return;
      }
      questionKeys[nextId] = key;
    }
    const id = nextId;
    nextId = (nextId + 1) & 0xffff;
    clientIds[id] = (data[0]! << 8) | data[1]!;
    clientPorts[id] = fromPort;
    clientAddressViews[id]!.set(from);
    data[0] = id >> 8;
    data[1] = id & 0xff;
    backend.send(data, length, BACKEND, backendPort);
  });

  backend.onDatagram((data, length) => {
    if (length < 12) return;
    const id = (data[0]! << 8) | data[1]!;
    const clientId = clientIds[id]!;
    if (cache !== undefined && !cache.has(questionKeys[id]!)) cache.set(questionKeys[id]!, data.slice(0, length));
    data[0] = clientId >> 8;
    data[1] = clientId & 0xff;
    frontend.send(data, length, clientAddressViews[id]!, clientPorts[id]!);
  });

  if (!isMainThread) {
    // In a worker: listening (the constructor bound the socket); the main thread ends the worker.
    parentPort!.postMessage('listening');
    return;
  }
  const stop = (): void => {
    void Promise.all([frontend.close(), backend.close()]).then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
