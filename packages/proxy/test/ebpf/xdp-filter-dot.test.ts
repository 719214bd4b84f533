/**
 * A block in the kernel applies to DNS over TLS as well: the XDP filter's
 * default ports include the TLS listeners', so a blocked client's SYNs to
 * the DoT port are dropped in the driver and its handshake never starts.
 */
import { freePort } from '../../../../test/support/free-port.js';
import { createVethPair, type VethPair } from '../../../../test/support/netns.js';
import { describeBpf, uniqueName } from '../../../../test/support/require-bpf.js';
import { makeTestPki, type TestPki } from '../../../../test/support/tls-certificates.js';
import { rmSync } from 'node:fs';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { pinnedFilterLua } from './ebpf-fixtures.js';

describeBpf('the XDP filter on DoT listeners', () => {
  let veth: VethPair;
  let pki: TestPki;
  let proxy: RunningProxy;
  let tlsPort: number;
  const root = `/sys/fs/bpf/${uniqueName('dtsdot')}`;
  const dir = `${root}/dnsdist`;

  const kdigTls = (src: string) =>
    veth
      .execInNs('kdig', [
        `@${veth.hostAddr}`,
        '-p',
        String(tlsPort),
        '-b',
        src,
        '+tls',
        `+tls-ca=${pki.caCert}`,
        '+tls-hostname=dot.test',
        '+retry=0',
        '+timeout=1',
        '+short',
        'www.example.test',
        'A',
      ])
      .catch((e: Error) => `FAILED ${e.message}`);

  beforeAll(async () => {
    veth = createVethPair(2);
    pki = makeTestPki();
    const cert = pki.issue('dot.test', ['dot.test']);
    tlsPort = await freePort();
    proxy = await startProxy(
      `setLocal("${veth.hostAddr}:\${PORT}")
       addTLSLocal("${veth.hostAddr}:\${TLSPORT}", "\${CERT}", "\${KEY}")
       setACL({"${veth.hostAddr}/24"})
       addAction(AllRule(), SpoofAction("192.0.2.99"))
       bpf = ${pinnedFilterLua(dir)}
       setDefaultBPFFilter(bpf)
       attachXDPFilter{interfaces={"${veth.hostIf}"}, mode="native"}
       bpf:block(newCA("${veth.peerAddrs[1]}"))`,
      { TLSPORT: tlsPort, CERT: cert.chain, KEY: cert.key },
    );
  });
  afterAll(async () => {
    await proxy?.stop();
    veth?.dispose();
    pki?.remove();
    rmSync(root, { recursive: true, force: true });
  });

  it("inspects the DoT listener's port too", () => {
    expect(proxy.output.join('\n')).toMatch(new RegExp(`DNS ports ${proxy.port},${tlsPort}, maps in`));
  });

  it('drops a blocked client before its TLS handshake; others are answered over TLS', async () => {
    expect(await kdigTls(veth.peerAddrs[0]!)).toContain('192.0.2.99');
    const tls = proxy.app.proxy.tlsFrontends[0]!;
    const [handshakes, queries] = [tls.tls.counters.newSessions + tls.tls.counters.resumptions, tls.tcp.queries];
    expect(await kdigTls(veth.peerAddrs[1]!)).not.toContain('192.0.2.99');
    expect(tls.tls.counters.newSessions + tls.tls.counters.resumptions).toBe(handshakes);
    expect(tls.tcp.queries).toBe(queries);
    const stats = proxy.app.runConsoleCommand('bpf:getStats()');
    expect(Number(new RegExp(`${veth.peerAddrs[1]!.replaceAll('.', '\\.')}: (\\d+)`).exec(stats)?.[1])).toBeGreaterThan(0);
  });
});
