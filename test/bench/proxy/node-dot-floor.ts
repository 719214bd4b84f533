/**
 * The floor for a DNS-over-TLS listener in Node: Node's own `tls.createServer`
 * with the bench's certificate (Node's defaults otherwise) in front of the
 * proxy's native UDP endpoint towards the backend, and nothing else in
 * JavaScript but the two-byte length framing and a query-ID remap. No ACL,
 * counters, timeouts, SNI peek or session bookkeeping. The
 * `dot-handshakes-floor` row of proxy.bench.ts puts it beside dnsdist and
 * dnsdist-ts's `dot-handshakes` row: how much of dnsdist-ts's cost per new
 * TLS connection is Node's TLS and socket set-up, and how much is the proxy's.
 *
 *   node --import tsx test/bench/proxy/node-dot-floor.ts UDP_PORT DOT_PORT BACKEND_PORT CERT KEY
 *
 * UDP_PORT answers plain DNS the same way (the bench's readiness probe).
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { createNativeUdpEndpoint } from '../../../packages/dataplane/src/io/native-udp-endpoint.js';

const [udpPort, dotPort, backendPort] = process.argv.slice(2, 5).map(Number);
const [certFile, keyFile] = process.argv.slice(5, 7);
if (!Number.isInteger(udpPort) || !Number.isInteger(dotPort) || !Number.isInteger(backendPort) || !certFile || !keyFile) {
  console.error('usage: node-dot-floor.ts UDP_PORT DOT_PORT BACKEND_PORT CERT KEY');
  process.exit(2);
}

const BACKEND = Uint8Array.of(127, 0, 0, 1);
const frontend = createNativeUdpEndpoint({ address: '127.0.0.1', port: udpPort! });
const backend = createNativeUdpEndpoint({ address: '127.0.0.1', port: 0, connect: { address: '127.0.0.1', port: backendPort! } });
const backendTcp = net.connect({ host: '127.0.0.1', port: backendPort!, noDelay: true });
backendTcp.on('error', (err) => {
  console.error(`backend TCP connection: ${err.message}`);
  process.exit(1);
});

// One slot per outgoing ID: either a TLS socket waiting, or a UDP client (IPv4 loopback only).
const sockets: (tls.TLSSocket | undefined)[] = new Array(65536).fill(undefined);
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
  sockets[id] = undefined;
  clientPorts[id] = fromPort;
  clientAddressViews[id]!.set(from);
});

const server = tls.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (socket) => {
  socket.setNoDelay(true);
  socket.on('error', () => socket.destroy());
  let buffer: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
    while (buffer.length >= 2) {
      const len = buffer.readUInt16BE(0);
      if (buffer.length < 2 + len) break;
      const query = Buffer.from(buffer.subarray(2, 2 + len));
      buffer = buffer.subarray(2 + len);
      if (len < 12) continue;
      const id = nextId;
      nextId = (nextId + 1) & 0xffff;
      clientIds[id] = query.readUInt16BE(0);
      query.writeUInt16BE(id, 0);
      sockets[id] = socket;
      const frame = Buffer.allocUnsafe(len + 2);
      frame.writeUInt16BE(len, 0);
      query.copy(frame, 2);
      backendTcp.write(frame);
    }
  });
});
server.listen(dotPort, '127.0.0.1');

backend.onDatagram((data, length) => {
  if (length < 12) return;
  const id = (data[0]! << 8) | data[1]!;
  const clientId = clientIds[id]!;
  data[0] = clientId >> 8;
  data[1] = clientId & 0xff;
  const socket = sockets[id];
  if (socket === undefined) return frontend.send(data, length, clientAddressViews[id]!, clientPorts[id]!);
  sockets[id] = undefined;
  if (socket.destroyed) return;
  const frame = Buffer.allocUnsafe(length + 2);
  frame.writeUInt16BE(length, 0);
  frame.set(data.subarray(0, length), 2);
  socket.write(frame);
});

let backendBuffer: Buffer = Buffer.alloc(0);
backendTcp.on('data', (chunk: Buffer) => {
  backendBuffer = backendBuffer.length === 0 ? chunk : Buffer.concat([backendBuffer, chunk]);
  while (backendBuffer.length >= 2) {
    const len = backendBuffer.readUInt16BE(0);
    if (backendBuffer.length < 2 + len) break;
    const frame = Buffer.from(backendBuffer.subarray(0, 2 + len));
    backendBuffer = backendBuffer.subarray(2 + len);
    if (len < 12) continue;
    const id = frame.readUInt16BE(2);
    const socket = sockets[id];
    sockets[id] = undefined;
    if (socket === undefined || socket.destroyed) continue;
    frame.writeUInt16BE(clientIds[id]!, 2);
    socket.write(frame);
  }
});

const stop = (): void => {
  backendTcp.destroy();
  server.close();
  void Promise.all([frontend.close(), backend.close()]).then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
