/**
 * Out-of-order TCP to backends (`newServer{maxInFlight=N}`). As in dnsdist,
 * a backend is not assumed to answer out of order: by default a connection
 * carries one query at a time, and concurrent queries take several
 * connections (idle ones are reused). With maxInFlight=N, up to N queries
 * share a connection and their answers are matched by ID in any order.
 */
import net from 'node:net';
import * as dnsPacket from 'dns-packet';
import { encodeQuery, tcpQueries, tcpQuery } from '../support/dns-client.js';
import { loadConfigurationOutput, startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { onFramedMessages, tcpFrame } from '../support/tcp-framing.js';

function answerTo(q: dnsPacket.Packet): Buffer {
  const name = q.questions![0]!.name;
  return tcpFrame(
    dnsPacket.encode({
      type: 'response',
      id: q.id,
      questions: [{ type: 'A', name, class: 'IN' }],
      answers: [{ type: 'A', name, ttl: 60, data: '198.51.100.9' }],
    }),
  );
}

interface Held {
  socket: net.Socket;
  query: dnsPacket.Packet;
}

/**
 * A TCP backend that holds every query until `batch` of them are waiting
 * (over all its connections), then answers them all in reverse order of
 * arrival. It records the most queries ever waiting on one connection.
 */
async function batchingBackend(batch: number) {
  const state = { connections: 0, mostWaitingOnOneConnection: 0 };
  const waiting: Held[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    state.connections++;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    onFramedMessages(socket, (message) => {
      const query = dnsPacket.decode(message);
      waiting.push({ socket, query });
      const onThis = waiting.filter((h) => h.socket === socket).length;
      state.mostWaitingOnOneConnection = Math.max(state.mostWaitingOnOneConnection, onThis);
      if (waiting.length >= batch) {
        for (const h of waiting.splice(0).reverse()) h.socket.write(answerTo(h.query));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    state,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describe('out-of-order TCP to backends (newServer maxInFlight)', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
  });

  async function setup(
    batch: number,
    serverOptions: string,
    localOptions = '',
  ): Promise<{ proxy: RunningProxy; backend: Awaited<ReturnType<typeof batchingBackend>> }> {
    const backend = await batchingBackend(batch);
    cleanups.push(() => backend.close());
    const proxy = await startProxy(
      // The backend holds answers until a batch is complete: on a loaded machine that can take
      // longer than the default 2 s query timeout, which would close the client's connection.
      `setUDPTimeout(30) setLocal("127.0.0.1:\${PORT}"${localOptions}) newServer{address="127.0.0.1:\${B}", healthCheckMode="up"${serverOptions}}`,
      { B: backend.port },
    );
    cleanups.push(() => proxy.stop());
    return { proxy, backend };
  }

  const names = (n: number, tag: string): string[] => Array.from({ length: n }, (_, i) => `${i}.${tag}.ooor.test`);

  it('sends one query at a time per connection by default, opening a connection per concurrent query', async () => {
    const { proxy, backend } = await setup(5, '');
    // Five clients at once: the backend answers only when all five are waiting.
    const answers = await Promise.all(names(5, 'default').map((n, i) => tcpQuery(proxy.port, n, { id: 100 + i })));
    answers.forEach((a, i) => expect(a.answers?.[0]).toMatchObject({ name: `${i}.default.ooor.test` }));
    expect(backend.state.mostWaitingOnOneConnection).toBe(1);
    expect(backend.state.connections).toBe(5);
    const c = proxy.app.proxy.servers[0]!.counters;
    expect(c.tcpNewConnections).toBe(5);
    expect(c.tcpMaxConcurrentConnections).toBe(5);
  });

  it('reuses an idle connection for the next query', async () => {
    const { proxy, backend } = await setup(1, '');
    for (const [i, n] of names(4, 'idle').entries()) {
      const a = await tcpQuery(proxy.port, n, { id: i });
      expect(a.answers?.[0]).toMatchObject({ name: n });
    }
    expect(backend.state.connections).toBe(1);
    const c = proxy.app.proxy.servers[0]!.counters;
    expect(c.tcpNewConnections).toBe(1);
    expect(c.tcpReusedConnections).toBe(3);
  });

  it('with maxInFlight=5, puts five queries on one connection and matches answers sent in reverse order', async () => {
    const { proxy, backend } = await setup(5, ', maxInFlight=5', ', {maxInFlight=10}');
    const queries = names(5, 'five').map((n, i) => encodeQuery(n, { id: i }));
    const answers = await tcpQueries(proxy.port, queries);
    // Answers come back in the backend's (reverse) order, each with its own ID and question.
    expect(answers.map((a) => a.id)).toEqual([4, 3, 2, 1, 0]);
    for (const a of answers) expect(a.answers?.[0]).toMatchObject({ name: `${a.id}.five.ooor.test` });
    expect(backend.state.connections).toBe(1);
    expect(backend.state.mostWaitingOnOneConnection).toBe(5);
  });

  it('with maxInFlight=5 and ten queries in flight from the client, uses exactly two connections', async () => {
    const { proxy, backend } = await setup(5, ', maxInFlight=5', ', {maxInFlight=10}');
    const queries = names(100, 'hundred').map((n, i) => encodeQuery(n, { id: i }));
    const answers = await tcpQueries(proxy.port, queries, 10000);
    expect(new Set(answers.map((a) => a.id)).size).toBe(100);
    for (const a of answers) expect(a.answers?.[0]).toMatchObject({ name: `${a.id}.hundred.ooor.test` });
    expect(backend.state.connections).toBe(2);
    expect(backend.state.mostWaitingOnOneConnection).toBeLessThanOrEqual(5);
    const c = proxy.app.proxy.servers[0]!.counters;
    expect(c.tcpNewConnections).toBe(2);
    expect(c.tcpMaxConcurrentConnections).toBe(2);
    expect(c.tcpReusedConnections).toBe(98);
  });

  it('refuses a negative or too large maxInFlight, naming the value', async () => {
    await expect(loadConfigurationOutput('newServer{address="127.0.0.1:53", maxInFlight=-1}')).rejects.toThrow(
      /maxInFlight must be between 0 .* got -1/,
    );
    await expect(loadConfigurationOutput('newServer{address="127.0.0.1:53", maxInFlight=70000}')).rejects.toThrow(/got 70000/);
  });
});
