/**
 * dnsdist's meaning of a repeated `addLocal(addr, {reusePort=true})`: one
 * more listener on that address, UDP and TCP (dnsdist gives each its own
 * receiver thread). The TCP side needs SO_REUSEPORT, which Node 20's net
 * cannot set: the listener is made natively and handed over by fd. Before
 * that, the second addLocal stopped start-up with "listen EADDRINUSE".
 */
import * as dnsPacket from 'dns-packet';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { answerWithA, startUdpTcpBackend, type TestBackend } from '../support/test-backends.js';
import { tcpQuery, udpQuery, waitFor } from '../support/dns-client.js';

const CONFIG = `
newServer{address="127.0.0.1:\${BACKEND}"}
addLocal("127.0.0.1:\${PORT}", {reusePort=true})
addLocal("127.0.0.1:\${PORT}", {reusePort=true})
`;

describe('addLocal twice on one address with reusePort=true', () => {
  let backend: TestBackend;
  let proxy: RunningProxy;

  beforeAll(async () => {
    backend = await startUdpTcpBackend((q) => answerWithA(dnsPacket.decode(q), '192.0.2.7'));
    proxy = await startProxy(CONFIG, { BACKEND: backend.port });
  });

  afterAll(async () => {
    await proxy?.stop();
    await backend?.close();
  });

  it('starts two UDP and two TCP listeners on the port, and clients reach both of each', async () => {
    const fes = proxy.app.proxy.frontends;
    expect(fes).toHaveLength(2);
    expect(fes.map((f) => f.udp.local.port)).toEqual([proxy.port, proxy.port]);
    expect(fes.map((f) => f.tcp.local.port)).toEqual([proxy.port, proxy.port]);
    // The kernel picks a listener per source port: 32 clients all landing on one has odds of 2^-31.
    const udp = await Promise.all(Array.from({ length: 32 }, (_, i) => udpQuery(proxy.port, `u${i}.example.`)));
    for (const a of udp) expect(a?.answers?.[0]?.data).toBe('192.0.2.7');
    const tcp = await Promise.all(Array.from({ length: 32 }, (_, i) => tcpQuery(proxy.port, `t${i}.example.`)));
    for (const a of tcp) expect(a.answers?.[0]?.data).toBe('192.0.2.7');
    // With workers the control plane sums their per-listener counters a few times a second.
    const sum = (kind: 'udp' | 'tcp'): number => fes[0]![kind].queries + fes[1]![kind].queries;
    await waitFor('every query counted', () => sum('udp') === 32 && sum('tcp') === 32);
    expect(fes.map((f) => f.udp.queries > 0)).toEqual([true, true]);
    expect(fes.map((f) => f.tcp.queries > 0)).toEqual([true, true]);
  });
});
