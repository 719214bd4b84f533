/**
 * The floor for a DNS-over-TCP forwarder in Node on the addon's own TCP
 * streams (packages/dataplane/src/io/native-tcp-stream.ts): the same shape
 * as node-tcp-floor.ts (each client connection's queries answered one at a
 * time, in order; each backend connection carrying one query at a time,
 * idle ones reused) with node:net replaced by the native streams, and
 * nothing else in JavaScript but the framing. proxy.bench.ts measures it
 * in dnsdist-ts's place (its `tcp-native-floor` row): what a native TCP
 * path leaves of Node's cost, between node-tcp-floor.ts and
 * tcp-epoll-forwarder.c.
 *
 * With WORKERS above 1 that many worker threads each run it with their own
 * SO_REUSEPORT listener, as dnsdist-ts --workers N has (`tcp-native-floor
 * ×N` rows); it prints "floor workers listening" once every one listens.
 *
 * It also answers UDP with a fixed reply, only so that the benchmark's
 * readiness probe (a UDP query) sees it up.
 *
 *   node --import tsx test/bench/proxy/native-tcp-floor.ts LISTEN_PORT BACKEND_PORT [WORKERS]
 */
import dgram from 'node:dgram';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { startFloorWorkers } from './floor-workers.js';
import {
  acceptTcpStreams,
  connectTcpStream,
  openTcpStream,
  TcpStreamEvent,
  type NativeTcpStreamHandle,
} from '../../../packages/dataplane/src/io/native-tcp-stream.js';
import { loadNativeUdpAddon } from '../../../packages/dataplane/src/io/native-udp-addon.js';

const [listenPort, backendPort, workers = 1] = (isMainThread ? process.argv.slice(2) : (workerData as string[])).map(Number);
if (!Number.isInteger(listenPort) || !Number.isInteger(backendPort) || !Number.isInteger(workers) || workers < 1) {
  console.error('usage: native-tcp-floor.ts LISTEN_PORT BACKEND_PORT [WORKERS]');
  process.exit(2);
}

const LOOPBACK = new Uint8Array(16);
LOOPBACK.set([127, 0, 0, 1]);
/** Every stream reads into this one buffer: each read is consumed before the next. */
const readBuffer = Buffer.allocUnsafe(65536);

/** Length-prefixed messages split out of a stream's reads. */
class Framer {
  #rest: Buffer | undefined;

  /** Call `onMessage(buf, start, end)` for each whole frame (prefix included) in the `n` bytes just read. */
  take(n: number, onMessage: (buf: Buffer, start: number, end: number) => void): void {
    let buf = readBuffer;
    let end = n;
    if (this.#rest !== undefined) {
      buf = Buffer.concat([this.#rest, readBuffer.subarray(0, n)]);
      end = buf.length;
      this.#rest = undefined;
    }
    let off = 0;
    while (end - off >= 2) {
      const frameEnd = off + 2 + buf.readUInt16BE(off);
      if (frameEnd > end) break;
      onMessage(buf, off, frameEnd);
      off = frameEnd;
    }
    if (off < end) this.#rest = Buffer.from(buf.subarray(off, end));
  }
}

type AnswerSink = (buf: Buffer, start: number, end: number) => void;

class BackendConnection {
  readonly stream: NativeTcpStreamHandle;
  readonly #framer = new Framer();
  #sink: AnswerSink | undefined;

  constructor() {
    this.stream = connectTcpStream(4, LOOPBACK, backendPort!, readBuffer, (kind, n) => {
      if (kind === TcpStreamEvent.data) this.#framer.take(n, (buf, start, end) => this.#answer(buf, start, end));
    });
  }

  send(frame: Buffer, sink: AnswerSink): void {
    this.#sink = sink;
    this.stream.write(frame, 0, frame.length);
  }

  #answer(buf: Buffer, start: number, end: number): void {
    const sink = this.#sink;
    this.#sink = undefined;
    idle.push(this);
    sink?.(buf, start, end);
  }
}

const idle: BackendConnection[] = [];

class ClientConnection {
  readonly stream: NativeTcpStreamHandle;
  readonly #framer = new Framer();
  readonly #queued: Buffer[] = [];
  #busy = false;
  readonly #answered: AnswerSink = (buf, start, end) => {
    this.stream.write(buf, start, end - start);
    this.#busy = false;
    this.#next();
  };

  constructor(fd: number) {
    this.stream = openTcpStream(fd, readBuffer, (kind, n) => {
      if (kind !== TcpStreamEvent.data) return;
      // The query is copied out of the shared buffer: it waits for its turn, as in the proxy.
      this.#framer.take(n, (buf, start, end) => this.#queued.push(Buffer.from(buf.subarray(start, end))));
      this.#next();
    });
  }

  #next(): void {
    if (this.#busy) return;
    const query = this.#queued.shift();
    if (query === undefined) return;
    this.#busy = true;
    (idle.pop() ?? new BackendConnection()).send(query, this.#answered);
  }
}

if (isMainThread && workers > 1) {
  startFloorWorkers(import.meta.url, [String(listenPort), String(backendPort), '1'], workers);
  answerProbes();
} else {
  const { fd } = loadNativeUdpAddon().openTcpListener({
    family: 4,
    address: LOOPBACK,
    port: listenPort!,
    reusePort: !isMainThread,
    backlog: 511,
  });
  acceptTcpStreams(
    fd,
    (client) => new ClientConnection(client),
    () => {},
  );
  if (isMainThread) answerProbes();
  else parentPort!.postMessage('listening');
}

/** Only the main thread answers the probe: it is up once it answers (and, with workers, once they all listen). */
function answerProbes(): void {
  const probe = dgram.createSocket('udp4');
  probe.on('message', (query, peer) => {
    // The question echoed with QR set: enough for the readiness probe.
    if (query.length >= 12)
      probe.send(Buffer.concat([query.subarray(0, 2), Buffer.from([0x81, 0x80]), query.subarray(4)]), peer.port, peer.address);
  });
  probe.bind(listenPort, '127.0.0.1');
}
