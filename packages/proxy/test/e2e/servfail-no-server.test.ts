/**
 * setServFailWhenNoServer(true): with no backend up, the SERVFAIL is the
 * query sent back with QR and RCODE set, its other header bits untouched
 * (no RA added, AD kept), and an EDNS query's OPT record replaced by a
 * fresh one (payload 1232, the query's DO, no options). Compared byte for
 * byte with Debian's dnsdist 1.7.3 answering the same queries.
 */
import * as dnsPacket from 'dns-packet';
import { describeDnsdist, spawnDnsdist, type SpawnedDnsdist } from '../../../../test/support/dnsdist.js';
import { tcpExchange, udpExchange } from '../support/dns-client.js';
import { waitForDnsdistAnswer } from '../support/dnsdist-ready.js';
import { freePort, startProxy, type RunningProxy } from '../support/proxy-harness.js';

const CONFIG = (port: number | string): string => `setLocal("127.0.0.1:${port}")
setServFailWhenNoServer(true)
newServer{address="127.0.0.1:9", healthCheckMode="down"}
`;

/** A query with the given header flags word and, when `edns`, an OPT record. */
function query(flags: number, edns?: { payload: number; do: boolean; cookie?: boolean }): Buffer {
  const q = dnsPacket.encode({
    type: 'query',
    id: 0x1234,
    flags: 0,
    questions: [{ type: 'A', name: 'nobody.servfail.test', class: 'IN' }],
    ...(edns
      ? {
          additionals: [
            {
              type: 'OPT',
              name: '.',
              udpPayloadSize: edns.payload,
              flags: edns.do ? dnsPacket.DNSSEC_OK : 0,
              options: edns.cookie ? [{ code: 10, data: Buffer.from('0123456789abcdef', 'hex') }] : [],
            } as unknown as dnsPacket.Answer,
          ],
        }
      : {}),
  });
  q.writeUInt16BE(flags, 2);
  return q;
}

const RD = 0x0100;
const AD = 0x0020;
const CD = 0x0010;
const CASES: Array<[string, Buffer]> = [
  ['no EDNS, RD', query(RD)],
  ['no EDNS, no flags', query(0)],
  ['no EDNS, RD AD CD', query(RD | AD | CD)],
  ['EDNS 4096', query(RD, { payload: 4096, do: false })],
  ['EDNS 512 with DO and AD', query(RD | AD, { payload: 512, do: true })],
  ['EDNS with a cookie option', query(RD, { payload: 1232, do: false, cookie: true })],
];

describeDnsdist('SERVFAIL when no server is up, as dnsdist', () => {
  let dnsdist: SpawnedDnsdist;
  let dnsdistPort: number;
  let proxy: RunningProxy;

  beforeAll(async () => {
    dnsdistPort = await freePort();
    dnsdist = spawnDnsdist(CONFIG(dnsdistPort));
    proxy = await startProxy(CONFIG('${PORT}'));
    await waitForDnsdistAnswer(dnsdist, dnsdistPort, query(RD));
  }, 30000);
  afterAll(async () => {
    await proxy?.stop();
    await dnsdist?.stop();
  });

  for (const [what, q] of CASES) {
    it(`answers like dnsdist over UDP and TCP: ${what}`, async () => {
      const theirs = await udpExchange(dnsdistPort, q);
      const ours = await udpExchange(proxy.port, q);
      expect(theirs).toBeDefined();
      expect(ours?.toString('hex')).toBe(theirs!.toString('hex'));
      expect((ours![3]! & 0x0f) === 2 && (ours![3]! & 0x80) === 0).toBe(true); // SERVFAIL, RA clear
      expect((await tcpExchange(proxy.port, q)).toString('hex')).toBe((await tcpExchange(dnsdistPort, q)).toString('hex'));
    });
  }
});
