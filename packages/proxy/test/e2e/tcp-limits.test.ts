import net from 'node:net';
import type { DemoServer } from '../../src/demo/demo-authoritative-server.js';
import { encodeQuery, tcpQueries, tcpQuery, waitFor } from '../support/dns-client.js';
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

  it('refuses a second concurrent connection from the same client', async () => {
    const tcp = proxy.app.proxy.frontends[0]!.tcp;
    await waitFor('earlier connections closed', () => tcp.currentConnections === 0);
    const first = net.connect({ host: '127.0.0.1', port: proxy.port });
    await new Promise((r) => first.once('connect', r));
    await waitFor('first connection accepted', () => tcp.currentConnections === 1);
    try {
      await expect(tcpQuery(proxy.port, 'www.example.test')).rejects.toThrow(/connection closed|ECONNRESET/);
    } finally {
      first.destroy();
    }
    // Once the first is gone, a new one is served.
    await waitFor('first connection closed', () => tcp.currentConnections === 0);
    expect((await tcpQuery(proxy.port, 'www.example.test')).answers?.[0]?.data).toBe('192.0.2.10');
  });
});
