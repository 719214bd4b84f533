/**
 * The TCP byte stream from a backend is cut wherever the backend (or the
 * kernel) likes: length prefixes split across reads, several answers in one
 * read, answers out of order, answers the proxy did not ask for. Every
 * pipelined query must still get exactly its own answer.
 */
import net from 'node:net';
import * as dnsPacket from 'dns-packet';
import { tcpQuery, waitFor, type Answer } from '../support/dns-client.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { oneWorker } from '../support/test-workers.js';
import { tcpFrame } from '../support/tcp-framing.js';

interface ReceivedQuery {
  id: number;
  name: string;
}

/** A TCP backend that waits for `expected` queries on one connection, then answers through `reply`. */
async function tcpBackend(expected: number, reply: (socket: net.Socket, queries: ReceivedQuery[]) => Promise<void>) {
  const state = { connections: 0 };
  const server = net.createServer((socket) => {
    state.connections++;
    socket.setNoDelay(true);
    let buffer = Buffer.alloc(0);
    const mine: ReceivedQuery[] = [];
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      while (buffer.length >= 2 && buffer.length >= 2 + buffer.readUInt16BE(0)) {
        const msg = buffer.subarray(2, 2 + buffer.readUInt16BE(0));
        buffer = buffer.subarray(2 + msg.length);
        const q = dnsPacket.decode(msg);
        mine.push({ id: q.id!, name: q.questions![0]!.name });
        if (mine.length === expected) void reply(socket, mine);
      }
    });
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    state,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function answer(id: number, name: string, address: string): Buffer {
  return dnsPacket.encode({
    type: 'response',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'A', name, class: 'IN' }],
    answers: [{ type: 'A', name, ttl: 60, data: address }],
  });
}

/** Write `bytes` in the given piece sizes, each piece after the previous one was handed to the kernel. */
async function writeInPieces(socket: net.Socket, bytes: Buffer, sizes: number[]): Promise<void> {
  let off = 0;
  for (const size of [...sizes, bytes.length]) {
    if (off >= bytes.length) break;
    const piece = bytes.subarray(off, Math.min(bytes.length, off + size));
    off += piece.length;
    await new Promise<void>((r) => socket.write(piece, () => r()));
    await new Promise((r) => setImmediate(r));
  }
}

/** The address a name's answer carries: name i answers 198.51.100.i. */
const addressOf = (name: string): string => `198.51.100.${Number(/^q(\d+)\./.exec(name)![1])}`;

describe('TCP backend framing', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
  });

  async function run(
    count: number,
    reply: (socket: net.Socket, queries: ReceivedQuery[]) => Promise<void>,
  ): Promise<{
    answers: Answer[];
    proxy: RunningProxy;
  }> {
    const b = await tcpBackend(count, reply);
    cleanups.push(() => b.close());
    const proxy = await startProxy(
      `setLocal("127.0.0.1:\${PORT}") newServer{address="127.0.0.1:\${B}", healthCheckMode="up", maxInFlight=100}`,
      {
        B: b.port,
      },
      // The backend expects every query on one connection: with workers each has its own.
      oneWorker('per-worker-connections'),
    );
    cleanups.push(() => proxy.stop());
    // One client connection per query: they share the proxy's backend connection, pipelined (maxInFlight).
    const answers = await Promise.all(
      Array.from({ length: count }, (_, i) => tcpQuery(proxy.port, `q${i}.framing.test`, { id: 1000 + i })),
    );
    expect(b.state.connections).toBe(1);
    return { answers, proxy };
  }

  const expectOwnAnswers = (answers: Answer[]): void => {
    answers.forEach((a, i) => {
      expect(a.id).toBe(1000 + i);
      expect(a.answers?.[0]).toMatchObject({ name: `q${i}.framing.test`, data: addressOf(`q${i}.framing.test`) });
    });
  };

  it('matches answers sent in reverse order, split inside length prefixes and coalesced', async () => {
    const { answers } = await run(6, async (socket, queries) => {
      const stream = Buffer.concat([...queries].reverse().map((q) => tcpFrame(answer(q.id, q.name, addressOf(q.name)))));
      // Cut after 1 byte (inside the first length prefix), then mid-message, then three answers at once…
      await writeInPieces(socket, stream, [1, 20, 3 * 60, 1, 1]);
    });
    expectOwnAnswers(answers);
  });

  it('ignores answers for IDs it never sent and answers to another question, then takes the real ones', async () => {
    const { answers, proxy } = await run(3, async (socket, queries) => {
      const unknownId = (Math.max(...queries.map((q) => q.id)) + 100) & 0xffff;
      const bogus = [
        tcpFrame(answer(unknownId, queries[0]!.name, '203.0.113.1')),
        // Right ID, wrong question: a spoofing attempt or a confused backend.
        tcpFrame(answer(queries[1]!.id, 'other.framing.test', '203.0.113.2')),
      ];
      const real = queries.map((q) => tcpFrame(answer(q.id, q.name, addressOf(q.name))));
      await writeInPieces(socket, Buffer.concat([...bogus, ...real]), [5, 7]);
    });
    expectOwnAnswers(answers);
    await waitFor('nothing outstanding', () => proxy.app.proxy.servers[0]!.outstanding === 0);
  });

  it('answers a message that arrives over several reads', async () => {
    // 300 A records: ~8 KB answer, read in several pieces.
    const { answers } = await run(1, async (socket, queries) => {
      const q = queries[0]!;
      const big = dnsPacket.encode({
        type: 'response',
        id: q.id,
        flags: dnsPacket.RECURSION_DESIRED,
        questions: [{ type: 'A', name: q.name, class: 'IN' }],
        answers: Array.from({ length: 300 }, (_, i) => ({ type: 'A' as const, name: q.name, ttl: 60, data: `10.0.${i >> 8}.${i & 0xff}` })),
      });
      await writeInPieces(socket, tcpFrame(big), [1000, 1000, 1000]);
    });
    expect(answers[0]!.id).toBe(1000);
    expect(answers[0]!.answers).toHaveLength(300);
  });
});
