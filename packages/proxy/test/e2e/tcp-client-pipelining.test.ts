/**
 * A client that pipelines many queries on one TCP connection. By default
 * (addLocal maxInFlight 0, as dnsdist) its queries are answered one at a
 * time and in order; the proxy reads ahead while one is answered (a bounded
 * read-ahead, server/tcp-read-flow.ts) instead of pausing the socket around
 * every query, and that must change neither.
 */
import net from 'node:net';
import * as dnsPacket from 'dns-packet';
import { encodeQuery, tcpQueries } from '../support/dns-client.js';
import { startProxy } from '../support/proxy-harness.js';
import { answerWithA } from '../support/test-backends.js';
import { onFramedMessages, tcpFrame } from '../support/tcp-framing.js';

/** A TCP backend answering each query on the next turn, which notes how many of them it held at once. */
async function countingBackend(): Promise<{ port: number; names: string[]; mostAtOnce: () => number; close: () => Promise<void> }> {
  const names: string[] = [];
  let held = 0;
  let most = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    onFramedMessages(socket, (message) => {
      const q = dnsPacket.decode(message);
      const name = q.questions![0]!.name;
      names.push(name);
      most = Math.max(most, ++held);
      setImmediate(() => {
        held--;
        socket.write(tcpFrame(answerWithA(q, '198.51.100.9')));
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    names,
    mostAtOnce: () => most,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describe('a client pipelining queries on one TCP connection', () => {
  it('gets every answer in order, its queries sent to the backend one at a time, past the read-ahead', async () => {
    const backend = await countingBackend();
    const proxy = await startProxy(
      `setLocal("127.0.0.1:\${PORT}") newServer{address="127.0.0.1:\${B}", tcpOnly=true, healthCheckMode="up"}`,
      {
        B: backend.port,
      },
    );
    try {
      // About 110 KB in one write: more than the 64 KiB the proxy reads ahead, so reading stops and starts again.
      const count = 3000;
      const queries = Array.from({ length: count }, (_, i) => encodeQuery(`q${i}.pipelined.test`, { id: i }));
      expect(queries.reduce((n, q) => n + 2 + q.length, 0)).toBeGreaterThan(100_000);
      const answers = await tcpQueries(proxy.port, queries, 30_000);
      expect(answers.map((a) => a.id)).toEqual(queries.map((_, i) => i));
      expect(answers.every((a, i) => a.answers?.[0]?.name === `q${i}.pipelined.test`)).toBe(true);
      expect(backend.names).toEqual(queries.map((_, i) => `q${i}.pipelined.test`));
      expect(backend.mostAtOnce()).toBe(1);
    } finally {
      await proxy.stop();
      await backend.close();
    }
  });
});
