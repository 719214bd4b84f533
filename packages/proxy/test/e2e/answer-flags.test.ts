/**
 * The RD and CD bits of an answer are the client's, whatever was sent on:
 * NoRecurseAction clears RD for the backend, the backend answers RD=0, and
 * dnsdist hands the client back its own RD (restoreFlags). The same holds
 * for answers from the packet cache, which serves RD=0 and RD=1 queries
 * from one entry once the rules made them the same query.
 */
import * as dnsPacket from 'dns-packet';
import { udpExchange, tcpQueries, type Answer } from '../support/dns-client.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { startUdpTcpBackend, type TestBackend } from '../support/test-backends.js';

const RD = 0x0100;
const CD = 0x0010;

/** An answer to `query` with RD and CD cleared (a backend that never echoes them). */
function flatAnswer(query: Buffer): Buffer {
  const q = dnsPacket.decode(query);
  return dnsPacket.encode({
    type: 'response',
    id: q.id,
    flags: dnsPacket.RECURSION_AVAILABLE,
    questions: q.questions,
    answers: [{ type: 'A', name: q.questions![0]!.name, ttl: 60, data: '198.51.100.9' }],
  });
}

/** UDP and TCP on one port; records the flags of each query it gets. */
async function flatBackend(): Promise<TestBackend & { seenFlags: number[] }> {
  const seenFlags: number[] = [];
  const backend = await startUdpTcpBackend((msg) => {
    seenFlags.push(msg.readUInt16BE(2));
    return flatAnswer(msg);
  });
  return { ...backend, seenFlags };
}

function query(name: string, flags: number): Buffer {
  const q = dnsPacket.encode({ type: 'query', id: 4242, flags: 0, questions: [{ type: 'A', name, class: 'IN' }] });
  q.writeUInt16BE(flags, 2);
  return q;
}

async function ask(proxy: RunningProxy, transport: 'udp' | 'tcp', name: string, flags: number): Promise<Answer & { flags?: number }> {
  if (transport === 'tcp') return (await tcpQueries(proxy.port, [query(name, flags)]))[0]!;
  const raw = await udpExchange(proxy.port, query(name, flags));
  if (!raw) throw new Error(`no UDP answer for ${name}`);
  return dnsPacket.decode(raw) as unknown as Answer & { flags?: number };
}

const flagsOf = (a: { flags?: number }): number => a.flags! & (RD | CD);

describe('RD and CD in answers are the client’s', () => {
  let backend: Awaited<ReturnType<typeof flatBackend>>;
  let proxy: RunningProxy;
  beforeAll(async () => {
    backend = await flatBackend();
    proxy = await startProxy(
      `setLocal("127.0.0.1:\${PORT}")
       newServer{address="127.0.0.1:\${B}", healthCheckMode="up"}
       getPool(""):setCache(newPacketCache(100))
       addAction("norecurse.flags.test.", NoRecurseAction())`,
      { B: backend.port },
    );
  });
  afterAll(async () => {
    await proxy?.stop();
    await backend?.close();
  });

  for (const transport of ['udp', 'tcp'] as const) {
    it(`restores RD cleared by NoRecurseAction in a backend answer and in cache hits (${transport})`, async () => {
      const name = `${transport}.norecurse.flags.test`;
      const before = backend.seenFlags.length;
      expect(flagsOf(await ask(proxy, transport, name, RD))).toBe(RD);
      // The backend got RD=0 and answered RD=0.
      expect(backend.seenFlags.slice(before).map((f) => f & RD)).toEqual([0]);
      // Both are cache hits now (the rule made them the same query): each gets its own RD back.
      expect(flagsOf(await ask(proxy, transport, name, 0))).toBe(0);
      expect(flagsOf(await ask(proxy, transport, name, RD))).toBe(RD);
      expect(backend.seenFlags.length - before).toBe(1);
    });

    it(`gives the client its RD and CD when the backend cleared them (${transport})`, async () => {
      const a = await ask(proxy, transport, `${transport}.cd.flags.test`, RD | CD);
      expect(flagsOf(a)).toBe(RD | CD);
      expect(a.flags! & 0x0080).toBe(0x0080); // RA is the backend's
    });
  }
});
