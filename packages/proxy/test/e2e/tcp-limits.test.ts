import net from 'node:net';
import type { DemoServer } from '../../src/demo/demo-authoritative-server.js';
import { encodeQuery, tcpQueries, tcpQuery, waitFor } from '../support/dns-client.js';
import { heldConnection } from '../support/held-connection.js';
import { startDemo, startProxy, type RunningProxy } from '../support/proxy-harness.js';

describe('TCP limits and thread tuning from dnsdist configurations', () => {
  let demo: DemoServer;
  let proxy: RunningProxy;

  beforeAll(async () => {
    demo = await startDemo();
    proxy = await startProxy(
      `setLocal("127.0.0.1:\${PORT}", {maxInFlight=10})
       newServer{address="127.0.0.1:\${DEMO}", checkName="example.test."}
       setMaxTCPQueriesPerConnection(2)
       setMaxTCPConnectionsPerClient(1)
       -- thread and queue knobs of dnsdist's: accepted, see docs/compatibility.md
       setMaxTCPClientThreads(10)
       setMaxTCPQueuedConnections(1000)
       setUDPMultipleMessagesVectorSize(32)
       truncateTC(true)`,
      { DEMO: demo.port },
    );
  });
  afterAll(async () => {
    await proxy?.stop();
    await demo?.close();
  });

  it('answers at most setMaxTCPQueriesPerConnection queries, then closes', async () => {
    await expect(
      tcpQueries(proxy.port, [encodeQuery('www.example.test'), encodeQuery('mail.example.test'), encodeQuery('ns.example.test')]),
    ).rejects.toThrow(/connection closed after 2 of 3 answers/);
  });

  it('refuses every further concurrent connection from the same client, whichever worker takes it', async () => {
    const tcp = proxy.app.proxy.frontends[0]!.tcp;
    await waitFor('earlier connections closed', () => tcp.currentConnections === 0);
    const first = await heldConnection(proxy.port);
    try {
      // Each attempt is a new source port: with workers the kernel spreads them, and the count is the process's.
      for (let i = 0; i < 6; i++) await expect(tcpQuery(proxy.port, 'www.example.test')).rejects.toThrow(/connection closed|ECONNRESET/);
    } finally {
      first.destroy();
    }
    // Once the first is gone, a new one is served.
    await waitFor('first connection closed', () => tcp.currentConnections === 0);
    expect((await tcpQuery(proxy.port, 'www.example.test')).answers?.[0]?.data).toBe('192.0.2.10');
  });
});

describe('maxConcurrentTCPConnections (addLocal/setLocal)', () => {
  let demo: DemoServer;
  let proxy: RunningProxy;

  beforeAll(async () => {
    demo = await startDemo();
    proxy = await startProxy(
      `setLocal("127.0.0.1:\${PORT}", {maxConcurrentTCPConnections=2})
       newServer{address="127.0.0.1:\${DEMO}", checkName="example.test."}`,
      { DEMO: demo.port },
    );
  });
  afterAll(async () => {
    await proxy?.stop();
    await demo?.close();
  });

  it("refuses every connection past the listener's limit, whichever worker takes it, and serves again once one closes", async () => {
    const tcp = proxy.app.proxy.frontends[0]!.tcp;
    const held = [await heldConnection(proxy.port), await heldConnection(proxy.port)];
    try {
      for (let i = 0; i < 6; i++) await expect(tcpQuery(proxy.port, 'www.example.test')).rejects.toThrow(/connection closed|ECONNRESET/);
      // With workers the control plane sums their counters a few times a second.
      await waitFor('the refusals counted', () => tcp.maxConcurrentConnectionsReached === 6);
      held.pop()!.destroy();
      await waitFor('one connection closed', () => tcp.currentConnections === 1);
      expect((await tcpQuery(proxy.port, 'www.example.test')).answers?.[0]?.data).toBe('192.0.2.10');
    } finally {
      for (const s of held) s.destroy();
    }
  });
});

describe('TCP per-query read deadline (setTCPQueryReadDeadline)', () => {
  let demo: DemoServer;
  let proxy: RunningProxy;

  beforeAll(async () => {
    demo = await startDemo();
    // The backend is taken as up: this block is about the client's read deadline, and a health check
    // answered late (this process hosts the proxy and the backend, on a loaded CI machine) would mark it
    // down and drop a query the test then waits for.
    proxy = await startProxy(
      `setLocal("127.0.0.1:\${PORT}")
       newServer{address="127.0.0.1:\${DEMO}", healthCheckMode="up"}
       setTCPRecvTimeout(2)
       setTCPQueryReadDeadline(0.5)`,
      { DEMO: demo.port },
    );
  });
  afterAll(async () => {
    await proxy?.stop();
    await demo?.close();
  });

  const framed = (name: string): Buffer => {
    const q = encodeQuery(name);
    const frame = Buffer.alloc(q.length + 2);
    frame.writeUInt16BE(q.length, 0);
    q.copy(frame, 2);
    return frame;
  };

  it('closes a connection whose query trickles in a byte every 100 ms, though each byte restarts the idle timeout', async () => {
    const tcp = proxy.app.proxy.frontends[0]!.tcp;
    const frame = framed('slow.www.example.test');
    const socket = net.connect({ host: '127.0.0.1', port: proxy.port });
    let received = 0;
    socket.on('data', (d: Buffer) => (received += d.length));
    socket.on('error', () => {});
    await new Promise((r) => socket.once('connect', r));
    let sent = 0;
    // Pacing the client, not synchronising: the close event is what the test waits for.
    const pace = setInterval(() => {
      if (sent < frame.length && !socket.destroyed) socket.write(frame.subarray(sent, ++sent));
    }, 100);
    try {
      await new Promise((r) => socket.once('close', r));
    } finally {
      clearInterval(pace);
    }
    expect(sent).toBeLessThan(frame.length);
    expect(received).toBe(0);
    // With workers the control plane sums their counters a few times a second.
    await waitFor('the closure counted', () => tcp.readDeadlineClosures === 1);
  });

  it('is per query: queries that each arrive whole are answered however long the connection lasts', async () => {
    const socket = net.connect({ host: '127.0.0.1', port: proxy.port });
    socket.on('error', () => {});
    await new Promise((r) => socket.once('connect', r));
    let buffered = Buffer.alloc(0);
    const answers: number[] = [];
    socket.on('data', (d: Buffer) => {
      buffered = Buffer.concat([buffered, d]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        answers.push(buffered.readUInt16BE(0));
        buffered = buffered.subarray(2 + buffered.readUInt16BE(0));
      }
    });
    try {
      // Three queries, each split in two writes, the whole exchange outlasting the 0.5 s deadline.
      for (let i = 0; i < 3; i++) {
        const frame = framed('www.example.test');
        socket.write(frame.subarray(0, 5));
        await new Promise((r) => setTimeout(r, 100));
        socket.write(frame.subarray(5));
        await waitFor(`answer ${i + 1}`, () => answers.length === i + 1);
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(socket.destroyed).toBe(false);
    } finally {
      socket.destroy();
    }
  });
});
