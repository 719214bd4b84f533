/**
 * The cache-control actions on a real packet cache, through real UDP and
 * TCP queries: SetSkipCacheAction (no lookup, no insert),
 * SetSkipCacheResponseAction (no insert), SetTempFailureCacheTTLAction (the
 * TTL of a SERVFAIL answer). The backend counts what reaches it, which is
 * what tells a cache hit from a miss.
 */
import * as dnsPacket from 'dns-packet';
import { tcpQuery, udpQuery } from '../support/dns-client.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { listenUdpAndTcp } from '../support/test-backends.js';

/**
 * Answers A 192.0.2.1 (TTL 300), or SERVFAIL for names starting with
 * "servfail", over UDP and TCP on one port; counts queries per name.
 */
async function countingBackend() {
  const seen = new Map<string, number>();
  const answer = (msg: Buffer): Buffer => {
    const q = dnsPacket.decode(msg);
    const name = q.questions![0]!.name;
    seen.set(name, (seen.get(name) ?? 0) + 1);
    const fail = name.startsWith('servfail');
    return dnsPacket.encode({
      type: 'response',
      id: q.id,
      flags: (q.flags ?? 0) | dnsPacket.RECURSION_AVAILABLE | (fail ? 2 : 0),
      questions: q.questions,
      answers: fail ? [] : [{ type: 'A', name, ttl: 300, data: '192.0.2.1' }],
    } as dnsPacket.Packet);
  };
  const {
    port,
    udp: socket,
    tcp: server,
  } = await listenUdpAndTcp(
    (udp, msg, rinfo) => udp.send(answer(msg), rinfo.port, rinfo.address),
    (c) => {
      let buf = Buffer.alloc(0);
      c.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const out = answer(buf.subarray(2, 2 + buf.readUInt16BE(0)));
          buf = buf.subarray(2 + buf.readUInt16BE(0));
          const frame = Buffer.alloc(2 + out.length);
          frame.writeUInt16BE(out.length, 0);
          out.copy(frame, 2);
          c.write(frame);
        }
      });
      c.on('error', () => {});
    },
  );
  return {
    port,
    seen,
    close: async () => {
      await new Promise<void>((r) => socket.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('cache-control actions with a packet cache', () => {
  let backend: Awaited<ReturnType<typeof countingBackend>>;
  let proxy: RunningProxy;

  beforeAll(async () => {
    backend = await countingBackend();
    proxy = await startProxy(
      `setLocal("127.0.0.1:\${PORT}")
       newServer{address="127.0.0.1:\${BACKEND}", healthCheckMode="up"}
       pc = newPacketCache(100, {maxTTL=86400, minTTL=1})
       getPool(""):setCache(pc)
       addAction(makeRule("nocache.test."), SetSkipCacheAction())
       addResponseAction(makeRule("nocache-response.test."), SetSkipCacheResponseAction())
       addAction(makeRule("servfail-nocache.test."), SetTempFailureCacheTTLAction(0))`,
      { BACKEND: backend.port },
    );
  });
  afterAll(async () => {
    await proxy?.stop();
    await backend?.close();
  });

  async function twice(name: string): Promise<number> {
    expect(await udpQuery(proxy.port, name)).toBeDefined();
    expect(await udpQuery(proxy.port, name)).toBeDefined();
    return backend.seen.get(name) ?? 0;
  }

  it('a plain name is answered from the cache the second time', async () => {
    expect(await twice('cached.test')).toBe(1);
  });

  it('SetSkipCacheAction: every query goes to the backend, and its answer is not stored for others', async () => {
    expect(await twice('nocache.test')).toBe(2);
    expect(await twice('www.nocache.test')).toBe(2);
    expect(proxy.app.runConsoleCommand('showRules()')).toContain('skip cache');
  });

  it('SetSkipCacheResponseAction: the answer is not stored', async () => {
    expect(await twice('nocache-response.test')).toBe(2);
    expect(proxy.app.runConsoleCommand('showResponseRules()')).toContain('skip cache');
  });

  it('SetTempFailureCacheTTLAction(0) keeps a SERVFAIL out of the cache; without it the default temporary-failure TTL applies', async () => {
    expect(await twice('servfail-other.test')).toBe(1);
    expect(await twice('servfail-nocache.test')).toBe(2);
  });

  it('over TCP too', async () => {
    expect((await tcpQuery(proxy.port, 'tcp.nocache.test')).answers?.[0]?.data).toBe('192.0.2.1');
    expect((await tcpQuery(proxy.port, 'tcp.nocache.test')).answers?.[0]?.data).toBe('192.0.2.1');
    expect(backend.seen.get('tcp.nocache.test')).toBe(2);
    await tcpQuery(proxy.port, 'tcp.cached.test');
    await tcpQuery(proxy.port, 'tcp.cached.test');
    expect(backend.seen.get('tcp.cached.test')).toBe(1);
  });
});
