/**
 * truncateTC(true): a TC=1 answer a backend sends over UDP reaches the
 * client as header and question only, with a bare OPT record (the answer's
 * payload size and DO bit) when the answer had EDNS. Compared byte for byte
 * with Debian's dnsdist 1.7.3 relaying the same backend's answers; without
 * truncateTC, and over TCP, the answer passes as it is.
 */
import * as dnsPacket from 'dns-packet';
import { describeDnsdist, spawnDnsdist, type SpawnedDnsdist } from '../../../../test/support/dnsdist.js';
import { tcpExchange, udpExchange, waitFor } from '../support/dns-client.js';
import { waitForDnsdistAnswer } from '../support/dnsdist-ready.js';
import { freePort, startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { startUdpTcpBackend, type TestBackend } from '../support/test-backends.js';

const TC = 0x0200;

/** The backend's answer: TC=1 with an A record, an NS record, and (for EDNS queries) an OPT record with payload 4242 and DO. */
function tcAnswer(query: Buffer): Buffer {
  const q = dnsPacket.decode(query);
  const name = q.questions![0]!.name;
  const edns = (q.additionals ?? []).some((r) => r.type === 'OPT');
  return dnsPacket.encode({
    type: 'response',
    id: q.id,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | TC,
    questions: q.questions,
    answers: [{ type: 'A', name, ttl: 60, data: '198.51.100.3' }],
    authorities: [{ type: 'NS', name, ttl: 60, data: 'ns.example' }],
    ...(edns
      ? {
          additionals: [
            {
              type: 'OPT',
              name: '.',
              udpPayloadSize: 4242,
              flags: dnsPacket.DNSSEC_OK,
              options: [{ code: 10, data: Buffer.alloc(8, 7) }],
            } as unknown as dnsPacket.Answer,
          ],
        }
      : {}),
  });
}

function query(name: string, edns: boolean): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: 0x4321,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'A', name, class: 'IN' }],
    ...(edns ? { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096, flags: 0 } as unknown as dnsPacket.Answer] } : {}),
  });
}

const config = (port: number | string, backend: number, truncate: boolean): string => `setLocal("127.0.0.1:${port}")
newServer{address="127.0.0.1:${backend}"}
${truncate ? 'truncateTC(true)' : ''}
`;

describeDnsdist('truncateTC, as dnsdist', () => {
  let backend: TestBackend;
  let dnsdist: SpawnedDnsdist;
  let dnsdistPort: number;
  let ours: RunningProxy;
  let oursPlain: RunningProxy;

  beforeAll(async () => {
    backend = await startUdpTcpBackend(tcAnswer);
    dnsdistPort = await freePort();
    dnsdist = spawnDnsdist(config(dnsdistPort, backend.port, true));
    ours = await startProxy(config('${PORT}', backend.port, true));
    oursPlain = await startProxy(config('${PORT}', backend.port, false));
    await waitForDnsdistAnswer(dnsdist, dnsdistPort, query('ready.tc.test', false));
    await waitFor('our backend up', () => ours.app.proxy.servers[0]!.isUp() && oursPlain.app.proxy.servers[0]!.isUp());
  }, 30000);
  afterAll(async () => {
    await ours?.stop();
    await oursPlain?.stop();
    await dnsdist?.stop();
    await backend?.close();
  });

  for (const edns of [false, true]) {
    it(`strips a TC=1 UDP answer to header and question${edns ? ', keeping a bare OPT' : ''}, byte for byte as dnsdist`, async () => {
      const q = query(`strip${edns ? '-edns' : ''}.tc.test`, edns);
      const theirs = await udpExchange(dnsdistPort, q);
      const mine = await udpExchange(ours.port, q);
      expect(theirs).toBeDefined();
      expect(mine?.toString('hex')).toBe(theirs!.toString('hex'));
      const decoded = dnsPacket.decode(mine!);
      expect(decoded.answers).toHaveLength(0);
      expect(decoded.authorities).toHaveLength(0);
      expect(decoded.flag_tc).toBe(true);
      if (edns) expect(decoded.additionals).toMatchObject([{ type: 'OPT', udpPayloadSize: 4242, flags: dnsPacket.DNSSEC_OK, options: [] }]);
      else expect(decoded.additionals).toHaveLength(0);
    });
  }

  it('leaves TCP answers and answers without truncateTC as the backend sent them', async () => {
    const q = query('keep.tc.test', true);
    expect(dnsPacket.decode(await tcpExchange(ours.port, q)).answers).toHaveLength(1);
    const plain = dnsPacket.decode((await udpExchange(oursPlain.port, q))!);
    expect(plain.answers).toHaveLength(1);
    expect(plain.authorities).toHaveLength(1);
  });
});
