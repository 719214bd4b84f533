/**
 * The floor for a UDP forwarder in Node: the proxy's own native endpoint
 * (recvmmsg/sendmmsg through the event loop, a connected backend socket) and
 * nothing else in JavaScript but a query-ID remap. No parsing, rules, rings,
 * counters or timeouts. proxy.bench.ts measures it next to dnsdist and
 * dnsdist-ts (its `floor` row) to show how much of dnsdist-ts's cost is Node's
 * per-wake-up price and how much is the proxy's work.
 *
 *   node --import tsx test/bench/proxy/node-floor-forwarder.ts LISTEN_PORT BACKEND_PORT
 */
import { createNativeUdpEndpoint } from '../../../packages/dataplane/src/io/native-udp-endpoint.js';

const listenPort = Number(process.argv[2]);
const backendPort = Number(process.argv[3]);
if (!Number.isInteger(listenPort) || !Number.isInteger(backendPort)) {
  console.error('usage: node-floor-forwarder.ts LISTEN_PORT BACKEND_PORT');
  process.exit(2);
}

const frontend = createNativeUdpEndpoint({ address: '127.0.0.1', port: listenPort });
const backend = createNativeUdpEndpoint({ address: '127.0.0.1', port: 0, connect: { address: '127.0.0.1', port: backendPort } });
const BACKEND = Uint8Array.of(127, 0, 0, 1);

// One slot per outgoing ID: the client's ID, port and address (IPv4 loopback only).
const clientIds = new Uint16Array(65536);
const clientPorts = new Uint16Array(65536);
const clientAddresses = new Uint8Array(65536 * 4);
const clientAddressViews = Array.from({ length: 65536 }, (_, i) => clientAddresses.subarray(4 * i, 4 * i + 4));
let nextId = 0;

frontend.onDatagram((data, length, from, fromPort) => {
  if (length < 12 || from.length !== 4) return;
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
  data[0] = clientId >> 8;
  data[1] = clientId & 0xff;
  frontend.send(data, length, clientAddressViews[id]!, clientPorts[id]!);
});

const stop = (): void => {
  void Promise.all([frontend.close(), backend.close()]).then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
