/**
 * Backends close their TCP connections when they like: after one answer,
 * after an idle delay, or in the middle of a query. A pooled connection the
 * backend has closed must not get a new query, and a query whose connection
 * dies before its answer is sent again, once, on a fresh connection (as
 * dnsdist does), so the client never sees the backend's housekeeping.
 */
import net from 'node:net';
import * as dnsPacket from 'dns-packet';
import { encodeQuery, tcpQueries, tcpQuery, waitFor } from '../support/dns-client.js';
import { loadConfigurationOutput, startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { onFramedMessages, tcpFrame } from '../support/tcp-framing.js';
import { answerWithA } from '../support/test-backends.js';

/** What the backend does with the n-th query (0-based) it reads on a connection. */
type Behaviour = (socket: net.Socket, queryIndexOnConnection: number, query: dnsPacket.Packet) => void;

interface Backend {
  port: number;
  connections: number;
  queries: string[];
  close(): Promise<void>;
}

function answerTo(q: dnsPacket.Packet): Buffer {
  return tcpFrame(answerWithA(q, '198.51.100.7'));
}

async function tcpBackend(behaviour: Behaviour, onConnection?: (socket: net.Socket) => void): Promise<Backend> {
  const sockets = new Set<net.Socket>();
  const state = { connections: 0, queries: [] as string[] };
  const server = net.createServer((socket) => {
    state.connections++;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    onConnection?.(socket);
    let index = 0;
    onFramedMessages(socket, (message) => {
      const q = dnsPacket.decode(message);
      state.queries.push(q.questions![0]!.name);
      behaviour(socket, index++, q);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    get connections() {
      return state.connections;
    },
    queries: state.queries,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describe('TCP backend connections closed by the backend', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
  });

  async function proxyFor(b: Backend, extra = ''): Promise<RunningProxy> {
    cleanups.push(() => b.close());
    const proxy = await startProxy(`setLocal("127.0.0.1:\${PORT}") newServer{address="127.0.0.1:\${B}", healthCheckMode="up"${extra}}`, {
      B: b.port,
    });
    cleanups.push(() => proxy.stop());
    return proxy;
  }

  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('answers every query when the backend closes each connection after its first answer', async () => {
    const b = await tcpBackend((socket, _i, q) => {
      socket.end(answerTo(q));
    });
    const proxy = await proxyFor(b);
    const server = proxy.app.proxy.servers[0]!;
    // Pipelined on one client connection: the proxy forwards the next query as soon as the previous
    // answer is in, on the pooled connection whose FIN came with that answer.
    const names = Array.from({ length: 5 }, (_, i) => `p${i}.reconnect.test`);
    const answers = await tcpQueries(
      proxy.port,
      names.map((n) => encodeQuery(n)),
    );
    expect(answers.map((a) => a.answers?.[0]?.name)).toEqual(names);
    // Then one client connection per query, back to back and spaced out.
    for (const gap of [0, 0, 0, 1, 5, 20]) {
      if (gap > 0) await pause(gap);
      const a = await tcpQuery(proxy.port, `q${gap}.reconnect.test`);
      expect(a.answers?.[0]).toMatchObject({ data: '198.51.100.7' });
    }
    expect(server.counters.tcpGaveUp).toBe(0);
    expect(server.counters.responses).toBe(11);
    await waitFor('nothing outstanding', () => server.outstanding === 0);
  });

  it('answers every query when the backend closes idle connections after a delay', async () => {
    // Long enough that a query right after the last answer comes within it on a loaded machine (at 30 ms, CI
    // once had no query reuse a connection at all); the gaps are in units of it.
    const IDLE_MS = 150;
    const b = await tcpBackend(
      (socket, _i, q) => {
        socket.write(answerTo(q));
      },
      (socket) => {
        socket.setTimeout(IDLE_MS, () => socket.end());
      },
    );
    const proxy = await proxyFor(b);
    const server = proxy.app.proxy.servers[0]!;
    // Some queries come well within the idle delay (reuse), some around it, some after it.
    for (const gap of [0, 0.15, 0.35, 0.85, 0.95, 1, 1.05, 1.15, 1.35, 2, 0.97, 1.03, 1]) {
      if (gap > 0) await pause(gap * IDLE_MS);
      const a = await tcpQuery(proxy.port, `q${gap}.idle.test`);
      expect(a.answers?.[0]).toMatchObject({ data: '198.51.100.7' });
    }
    expect(server.counters.tcpReusedConnections).toBeGreaterThan(0);
    expect(server.counters.tcpGaveUp).toBe(0);
    await waitFor('nothing outstanding', () => server.outstanding === 0);
  });

  it('answers a query that crosses the idle close of its pooled connection', async () => {
    // The backend's idle close and the query pass each other on the wire: the backend reads the
    // query on a connection idle for longer than its limit and closes it without answering.
    const IDLE_MS = 30;
    const lastActivity = new WeakMap<net.Socket, number>();
    const b = await tcpBackend((socket, i, q) => {
      if (i > 0 && Date.now() - lastActivity.get(socket)! > IDLE_MS) {
        socket.end();
        return;
      }
      lastActivity.set(socket, Date.now());
      socket.write(answerTo(q));
    });
    const proxy = await proxyFor(b);
    const server = proxy.app.proxy.servers[0]!;
    for (let i = 0; i < 3; i++) {
      const a = await tcpQuery(proxy.port, `q${i}.crossing.test`);
      expect(a.answers?.[0]).toMatchObject({ name: `q${i}.crossing.test`, data: '198.51.100.7' });
      await pause(2 * IDLE_MS);
    }
    // Queries 1 and 2 each went out on the idle connection first, then on a new one.
    expect(b.queries).toEqual(['q0.crossing.test', 'q1.crossing.test', 'q1.crossing.test', 'q2.crossing.test', 'q2.crossing.test']);
    expect(b.connections).toBe(3);
    expect(server.counters.tcpDiedReadingResponse).toBe(2);
    expect(server.counters.tcpGaveUp).toBe(0);
    await waitFor('nothing outstanding', () => server.outstanding === 0);
  });

  it('sends a query again on a fresh connection when its connection closes before the answer', async () => {
    // One answer per connection; a second query on the same connection makes the backend hang up without answering.
    const b = await tcpBackend((socket, i, q) => {
      if (i === 0) socket.write(answerTo(q));
      else socket.destroy();
    });
    const proxy = await proxyFor(b);
    const first = await tcpQuery(proxy.port, 'first.midquery.test');
    expect(first.answers?.[0]).toMatchObject({ data: '198.51.100.7' });
    // The pooled connection is still open: the second query goes out on it, is lost there, and is retried.
    const second = await tcpQuery(proxy.port, 'second.midquery.test');
    expect(second.answers?.[0]).toMatchObject({ name: 'second.midquery.test', data: '198.51.100.7' });
    expect(b.queries).toEqual(['first.midquery.test', 'second.midquery.test', 'second.midquery.test']);
    expect(b.connections).toBe(2);
    const server = proxy.app.proxy.servers[0]!;
    expect(server.counters.tcpDiedReadingResponse).toBe(1);
    expect(server.counters.tcpGaveUp).toBe(0);
    expect(server.counters.responses).toBe(2);
    await waitFor('nothing outstanding', () => server.outstanding === 0);
  });

  it('gives up after one retry when the fresh connection dies too, and closes the client connection', async () => {
    const b = await tcpBackend((socket) => {
      socket.destroy();
    });
    const proxy = await proxyFor(b);
    await expect(tcpQuery(proxy.port, 'never.midquery.test')).rejects.toThrow(/closed after 0 of 1 answers|ECONNRESET/);
    expect(b.queries).toEqual(['never.midquery.test', 'never.midquery.test']);
    expect(b.connections).toBe(2);
    const server = proxy.app.proxy.servers[0]!;
    expect(server.counters.tcpDiedReadingResponse).toBe(2);
    expect(server.counters.tcpGaveUp).toBe(1);
    expect(server.counters.drops).toBe(1);
    await waitFor('nothing outstanding', () => server.outstanding === 0);
  });

  it('with newServer{retries=4}, tries a query on four connections in all before giving up', async () => {
    const b = await tcpBackend((socket) => {
      socket.destroy();
    });
    const proxy = await proxyFor(b, ', retries=4');
    await expect(tcpQuery(proxy.port, 'four.midquery.test')).rejects.toThrow(/closed after 0 of 1 answers|ECONNRESET/);
    expect(b.queries).toEqual(Array(4).fill('four.midquery.test'));
    const server = proxy.app.proxy.servers[0]!;
    expect(server.counters.tcpDiedReadingResponse).toBe(4);
    expect(server.counters.tcpGaveUp).toBe(1);
    await waitFor('nothing outstanding', () => server.outstanding === 0);
  });

  it('refuses retries outside 1-100, naming the option', async () => {
    await expect(loadConfigurationOutput('newServer{address="127.0.0.1:53", retries=0}')).rejects.toThrow(
      /retries is the number of TCP attempts per query/,
    );
  });

  it('does not send again a query the backend answered with an unusable answer before closing', async () => {
    // A wrong answer (another question, same ID), then the backend hangs up: dnsdist gives up on the
    // query and closes the client's connection; sending it again would only get the same answer.
    const b = await tcpBackend((socket, _i, q) => {
      socket.end(answerTo({ ...q, questions: [{ type: 'A', name: 'unrelated.midquery.test', class: 'IN' }] }));
    });
    const proxy = await proxyFor(b);
    await expect(tcpQuery(proxy.port, 'wrong.midquery.test')).rejects.toThrow(/closed after 0 of 1 answers|ECONNRESET/);
    expect(b.queries).toEqual(['wrong.midquery.test']);
    const server = proxy.app.proxy.servers[0]!;
    expect(server.counters.tcpGaveUp).toBe(1);
    await waitFor('nothing outstanding', () => server.outstanding === 0);
  });
});
