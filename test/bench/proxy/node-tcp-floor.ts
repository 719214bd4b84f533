/**
 * The floor for a DNS-over-TCP forwarder on Node's own sockets: dnsdist-ts's
 * TCP shape (node:net on both sides; each client connection's queries
 * answered one at a time, in order, dnsdist's default; each backend
 * connection carrying one query at a time, idle ones reused) and nothing
 * else in JavaScript but the length-prefixed framing. No parsing, rules,
 * rings, counters or timeouts. proxy.bench.ts measures it in dnsdist-ts's
 * place (its `tcp-floor` row) beside dnsdist, to split what Node's sockets
 * cost from what the proxy's query path costs; `tcp-epoll`
 * (tcp-epoll-forwarder.c) is the same shape without Node.
 *
 * It also answers UDP with a fixed reply, only so that the benchmark's
 * readiness probe (a UDP query) sees it up.
 *
 *   node --import tsx test/bench/proxy/node-tcp-floor.ts LISTEN_PORT BACKEND_PORT
 */
import dgram from 'node:dgram';
import net from 'node:net';

const [listenPort = NaN, backendPort = NaN] = process.argv.slice(2).map(Number);
if (!Number.isInteger(listenPort) || !Number.isInteger(backendPort)) {
  console.error('usage: node-tcp-floor.ts LISTEN_PORT BACKEND_PORT');
  process.exit(2);
}

type AnswerSink = (frame: Buffer) => void;

/** A backend connection: one query at a time; back to the idle list once answered. */
class BackendConnection {
  readonly socket: net.Socket;
  #buffer: Buffer = Buffer.alloc(0);
  #sink: AnswerSink | undefined;

  constructor(readonly idle: BackendConnection[]) {
    this.socket = net.connect({ host: '127.0.0.1', port: backendPort });
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    this.socket.on('error', () => this.socket.destroy());
  }

  send(frame: Buffer, sink: AnswerSink): void {
    this.#sink = sink;
    this.socket.write(frame);
  }

  #onData(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    while (this.#buffer.length >= 2) {
      const end = 2 + this.#buffer.readUInt16BE(0);
      if (this.#buffer.length < end) return;
      const frame = this.#buffer.subarray(0, end);
      this.#buffer = this.#buffer.subarray(end);
      const sink = this.#sink;
      this.#sink = undefined;
      this.idle.push(this);
      sink?.(frame);
    }
  }
}

const idle: BackendConnection[] = [];

net
  .createServer((client) => {
    client.setNoDelay(true);
    let buffer: Buffer = Buffer.alloc(0);
    let busy = false;
    const answered: AnswerSink = (frame) => {
      // The backend's read buffer moves on: the answer is copied, as the proxy does.
      client.write(Buffer.from(frame));
      busy = false;
      next();
    };
    const next = (): void => {
      if (busy || buffer.length < 2) return;
      const end = 2 + buffer.readUInt16BE(0);
      if (buffer.length < end) return;
      const query = Buffer.from(buffer.subarray(0, end));
      buffer = buffer.subarray(end);
      busy = true;
      (idle.pop() ?? new BackendConnection(idle)).send(query, answered);
    };
    client.on('data', (chunk: Buffer) => {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      next();
    });
    client.on('error', () => client.destroy());
  })
  .listen(listenPort, '127.0.0.1');

const probe = dgram.createSocket('udp4');
probe.on('message', (query, peer) => {
  // The question echoed with QR set: enough for the readiness probe.
  if (query.length >= 12)
    probe.send(Buffer.concat([query.subarray(0, 2), Buffer.from([0x81, 0x80]), query.subarray(4)]), peer.port, peer.address);
});
probe.bind(listenPort, '127.0.0.1');
