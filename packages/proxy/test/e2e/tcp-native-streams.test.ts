/**
 * Plain DNS over TCP on the addon's TCP streams (server/client-stream.ts):
 * the listener takes them where the addon is built, and what node:net did
 * for a client connection the stream does too: the idle timeout
 * (setTCPRecvTimeout) closes a quiet connection and is restarted by every
 * query, and a connection's end is counted as node:net's was.
 */
import net from 'node:net';
import type { DemoServer } from '../../src/demo/demo-authoritative-server.js';
import { encodeQuery, tcpQuery, waitFor } from '../support/dns-client.js';
import { startDemo, startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { oneWorker } from '../support/test-workers.js';
import { onFramedMessages, tcpFrame } from '../support/tcp-framing.js';

describe('plain TCP client connections on the native streams', () => {
  let demo: DemoServer;
  let proxy: RunningProxy;

  beforeAll(async () => {
    demo = await startDemo();
    proxy = await startProxy(
      `setLocal("127.0.0.1:\${PORT}")
       newServer{address="127.0.0.1:\${DEMO}", checkName="example.test."}
       setTCPRecvTimeout(1)`,
      { DEMO: demo.port },
      oneWorker('listener-io'),
    );
  });
  afterAll(async () => {
    await proxy?.stop();
    await demo?.close();
  });

  it('runs the plain TCP listener on the native streams', async () => {
    expect(proxy.app.proxy.frontends[0]!.tcp.usesNativeStreams).toBe(true);
    expect((await tcpQuery(proxy.port, 'www.example.test')).answers?.[0]?.data).toBe('192.0.2.10');
  });

  it('closes a connection idle for setTCPRecvTimeout, and counts it closed', async () => {
    const tcp = proxy.app.proxy.frontends[0]!.tcp;
    const socket = net.connect({ host: '127.0.0.1', port: proxy.port });
    socket.on('error', () => {});
    const opened = Date.now();
    await new Promise((r) => socket.once('connect', r));
    await waitFor('the connection counted', () => tcp.currentConnections === 1);
    await new Promise((r) => socket.once('close', r));
    // Not closed before the timeout (1 s; a little early only by timer rounding).
    expect(Date.now() - opened).toBeGreaterThanOrEqual(900);
    await waitFor('the connection counted closed', () => tcp.currentConnections === 0);
  });

  it('keeps open a connection whose queries come more often than the idle timeout, however long it lasts', async () => {
    const socket = net.connect({ host: '127.0.0.1', port: proxy.port });
    socket.on('error', () => {});
    let closed = false;
    socket.once('close', () => (closed = true));
    const answers: Buffer[] = [];
    onFramedMessages(socket, (m) => answers.push(m));
    await new Promise((r) => socket.once('connect', r));
    // Five queries 400 ms apart: 2 s in all, twice the timeout, never 1 s quiet.
    for (let i = 0; i < 5; i++) {
      socket.write(tcpFrame(encodeQuery(`q${i}.example.test`)));
      await waitFor(`answer ${i}`, () => answers.length === i + 1);
      await new Promise((r) => setTimeout(r, 400));
    }
    expect(closed).toBe(false);
    socket.destroy();
  });
});
