/**
 * The floor for a DNS-over-HTTPS forwarder in Node: Node's own HTTP/2 over
 * TLS (the stream API, no compatibility objects) in front of the proxy's
 * native UDP endpoint towards the backend, and nothing else in JavaScript
 * but a query-ID remap. No parsing, rules, counters or timeouts. The
 * `doh-floor` row of proxy.bench.ts puts it beside dnsdist and dnsdist-ts's
 * `doh` row: how much of dnsdist-ts's cost per DoH query is Node's HTTP/2
 * and TLS, and how much is the proxy's work.
 *
 *   node --import tsx test/bench/proxy/node-doh-floor.ts UDP_PORT DOH_PORT BACKEND_PORT CERT KEY
 *
 * UDP_PORT answers plain DNS the same way (the bench's readiness probe).
 */
import { readFileSync } from 'node:fs';
import http2, { type ServerHttp2Stream } from 'node:http2';
import { createNativeUdpEndpoint } from '../../../packages/dataplane/src/io/native-udp-endpoint.js';

const [udpPort, dohPort, backendPort] = process.argv.slice(2, 5).map(Number);
const [certFile, keyFile] = process.argv.slice(5, 7);
if (!Number.isInteger(udpPort) || !Number.isInteger(dohPort) || !Number.isInteger(backendPort) || !certFile || !keyFile) {
  console.error('usage: node-doh-floor.ts UDP_PORT DOH_PORT BACKEND_PORT CERT KEY');
  process.exit(2);
}

const BACKEND = Uint8Array.of(127, 0, 0, 1);
const frontend = createNativeUdpEndpoint({ address: '127.0.0.1', port: udpPort! });
const backend = createNativeUdpEndpoint({ address: '127.0.0.1', port: 0, connect: { address: '127.0.0.1', port: backendPort! } });

// One slot per outgoing ID: either an HTTP/2 stream waiting, or a UDP client (IPv4 loopback only).
const streams: (ServerHttp2Stream | undefined)[] = new Array(65536).fill(undefined);
const clientIds = new Uint16Array(65536);
const clientPorts = new Uint16Array(65536);
const clientAddresses = new Uint8Array(65536 * 4);
const clientAddressViews = Array.from({ length: 65536 }, (_, i) => clientAddresses.subarray(4 * i, 4 * i + 4));
let nextId = 0;

function forward(data: Uint8Array, length: number): number {
  const id = nextId;
  nextId = (nextId + 1) & 0xffff;
  clientIds[id] = (data[0]! << 8) | data[1]!;
  data[0] = id >> 8;
  data[1] = id & 0xff;
  backend.send(data, length, BACKEND, backendPort!);
  return id;
}

frontend.onDatagram((data, length, from, fromPort) => {
  if (length < 12 || from.length !== 4) return;
  const id = forward(data, length);
  streams[id] = undefined;
  clientPorts[id] = fromPort;
  clientAddressViews[id]!.set(from);
});

const server = http2.createSecureServer({
  cert: readFileSync(certFile),
  key: readFileSync(keyFile),
  settings: { maxConcurrentStreams: 100 },
});
server.on('stream', (stream: ServerHttp2Stream) => {
  stream.on('error', () => {});
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.on('end', () => {
    const query = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    if (query.length < 12) return void stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    streams[forward(query, query.length)] = stream;
  });
});
server.on('connection', (socket: { setNoDelay(on: boolean): void }) => socket.setNoDelay(true));
server.listen(dohPort, '127.0.0.1');

backend.onDatagram((data, length) => {
  if (length < 12) return;
  const id = (data[0]! << 8) | data[1]!;
  const clientId = clientIds[id]!;
  data[0] = clientId >> 8;
  data[1] = clientId & 0xff;
  const stream = streams[id];
  if (stream === undefined) return frontend.send(data, length, clientAddressViews[id]!, clientPorts[id]!);
  streams[id] = undefined;
  if (stream.destroyed || stream.closed) return;
  stream.respond({ ':status': 200, 'content-type': 'application/dns-message', 'content-length': String(length) });
  stream.end(Buffer.from(data.subarray(0, length)));
});

const stop = (): void => {
  server.close();
  void Promise.all([frontend.close(), backend.close()]).then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
