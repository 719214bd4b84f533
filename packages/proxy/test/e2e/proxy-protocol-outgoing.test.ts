/**
 * newServer{useProxyProtocol=true} with a real backend that reads the
 * proxy protocol header as a PROXY-aware resolver does (it refuses anything
 * without one): a header before every UDP query, one per TCP connection, a
 * connection never shared between two clients, the TLVs of the actions, the
 * LOCAL header of health checks, and no header for a backend without the
 * option.
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import * as dnsPacket from 'dns-packet';
import { parseProxyProtocolHeader, type ProxyProtocolHeader } from '@dnsdist-ts/dns';
import { describeDnsdist, spawnDnsdist, type SpawnedDnsdist } from '../../../../test/support/dnsdist.js';
import { encodeQuery, tcpQueries, udpExchange, udpQuery, waitFor } from '../support/dns-client.js';
import { curl, dnsParam, makeCertificate, type TestCertificate } from '../support/doh-clients.js';
import { freePort, startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { oneWorker } from '../support/test-workers.js';
import { answerWithA, listenUdpAndTcp, startUdpTcpBackend, type TestBackend } from '../support/test-backends.js';

interface Seen {
  transport: 'udp' | 'tcp';
  header: ProxyProtocolHeader;
  name: string;
  /** The TCP connection's number (0 for UDP). */
  connection: number;
}

/** A backend that expects a v2 header first on every datagram and every connection. */
class ProxyAwareBackend {
  readonly seen: Seen[] = [];
  localChecks = 0;
  connections = 0;
  closedConnections = 0;
  rejected = 0;
  tlsErrors = 0;
  #udp!: dgram.Socket;
  #tcp!: net.Server;
  #tls: tls.Server | undefined;

  get port(): number {
    return this.#udp.address().port;
  }

  async start(): Promise<void> {
    const onMessage = (udp: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo): void => {
      const h = parseProxyProtocolHeader(msg, msg.length);
      if (typeof h === 'number') {
        this.rejected++;
        return;
      }
      const a = this.#answer(msg.subarray(h.size), h, 'udp', 0);
      if (a) udp.send(a, rinfo.port, rinfo.address);
    };
    ({ udp: this.#udp, tcp: this.#tcp } = await listenUdpAndTcp(onMessage, (s) => this.#onConnection(s)));
  }

  /** A DoT listener too, whose connections must carry the header inside TLS; returns its port. */
  async startTls(cert: TestCertificate): Promise<number> {
    const server = tls.createServer({ cert: readFileSync(cert.cert), key: readFileSync(cert.key) }, (s) => this.#onConnection(s));
    // A header sent before the ClientHello is no TLS record: the handshake fails, and is counted.
    server.on('tlsClientError', () => this.tlsErrors++);
    this.#tls = server;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    return (server.address() as net.AddressInfo).port;
  }

  #onConnection(socket: net.Socket): void {
    const connection = ++this.connections;
    let header: ProxyProtocolHeader | undefined;
    let buf = Buffer.alloc(0);
    socket.on('error', () => socket.destroy());
    // Health checks of the tcpOnly backend open and close connections with a LOCAL header: not counted.
    socket.on('close', () => {
      if (header !== undefined && !header.local) this.closedConnections++;
    });
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (header === undefined) {
        const h = parseProxyProtocolHeader(buf, buf.length);
        if (h === -2) return;
        if (typeof h === 'number') {
          this.rejected++;
          socket.destroy();
          return;
        }
        header = h;
        buf = buf.subarray(h.size);
      }
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        const a = this.#answer(msg, header, 'tcp', connection);
        if (!a) continue;
        socket.write(Buffer.concat([Buffer.from([a.length >> 8, a.length & 0xff]), a]));
      }
    });
  }

  #answer(msg: Buffer, header: ProxyProtocolHeader, transport: 'udp' | 'tcp', connection: number): Buffer | undefined {
    const q = dnsPacket.decode(msg);
    if (header.local) this.localChecks++;
    else this.seen.push({ transport, header, name: q.questions![0]!.name, connection });
    // Names under truncated. get TC=1 over UDP, so the proxy asks again over TCP.
    if (transport === 'udp' && q.questions![0]!.name.startsWith('truncated.')) {
      return dnsPacket.encode({
        type: 'response',
        id: q.id,
        flags: dnsPacket.TRUNCATED_RESPONSE,
        questions: q.questions,
      } as dnsPacket.Packet);
    }
    // Names under silent. get no answer (read timeouts).
    if (q.questions![0]!.name.startsWith('silent.')) return undefined;
    return answerWithA(q, '192.0.2.53');
  }

  forName(name: string): Seen[] {
    return this.seen.filter((s) => s.name === name);
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => this.#udp.close(() => r()));
    await new Promise<void>((r) => this.#tcp.close(() => r()));
    const server = this.#tls;
    if (server !== undefined) await new Promise<void>((r) => server.close(() => r()));
  }
}

const text = (v: Uint8Array): string => Buffer.from(v).toString();
const tlvs = (h: ProxyProtocolHeader): [number, string][] => h.values.map((v) => [v.type, text(v.value)]);
const addr = (b: Uint8Array | undefined): string => [...(b ?? [])].join('.');

describe('outgoing proxy protocol (newServer{useProxyProtocol=true})', () => {
  let backend: ProxyAwareBackend;
  let plainBackend: TestBackend;
  let plainQueries: Buffer[];
  let proxy: RunningProxy;

  beforeAll(async () => {
    backend = new ProxyAwareBackend();
    await backend.start();
    plainQueries = [];
    plainBackend = await startUdpTcpBackend((q) => {
      plainQueries.push(Buffer.from(q));
      return answerWithA(dnsPacket.decode(q), '192.0.2.54');
    });
    proxy = await startProxy(`setLocal("127.0.0.1:\${PORT}")
newServer{address="127.0.0.1:${backend.port}", useProxyProtocol=true}
newServer{address="127.0.0.1:${backend.port}", useProxyProtocol=true, tcpOnly=true, pool="tcponly"}
newServer{address="127.0.0.1:${plainBackend.port}", pool="plain"}
addAction("plain.example.", PoolAction("plain"))
addAction("tee.example.", SetAdditionalProxyProtocolValueAction(3, "teed"))
addAction("tee.example.", TeeAction("127.0.0.1:${backend.port}", false, nil, true))
addAction("tee.example.", PoolAction("plain"))
addAction("tcponly.example.", PoolAction("tcponly"))
addAction("values.example.", SetProxyProtocolValuesAction({ ["1"]="dnsdist", [255]="proxy-protocol" }))
addAction("values.example.", SetAdditionalProxyProtocolValueAction(2, "more"))
function luaValues(dq)
  local v = dq:getProxyProtocolValues()
  v[42] = "bar"
  dq:setProxyProtocolValues(v)
  return DNSAction.None
end
addAction("lua.example.", SetAdditionalProxyProtocolValueAction(7, "seven"))
addAction("lua.example.", LuaAction(luaValues))
`);
    // Health checks: each proxied backend is up only if its LOCAL-header check was answered.
    await waitFor('health checks with a LOCAL header', () => backend.localChecks >= 2);
  });

  afterAll(async () => {
    await proxy?.stop();
    await backend?.close();
    await plainBackend?.close();
  });

  it('puts a PROXY header naming the client (UDP, source and destination ports) before every UDP query', async () => {
    for (let i = 0; i < 2; i++) {
      const a = await udpExchange(proxy.port, encodeQuery('udp.example.'));
      expect(a && dnsPacket.decode(a).answers?.[0]).toMatchObject({ data: '192.0.2.53' });
    }
    const seen = backend.forName('udp.example');
    expect(seen).toHaveLength(2);
    for (const s of seen) {
      expect(s.transport).toBe('udp');
      expect(s.header).toMatchObject({ local: false, tcp: false, destinationPort: proxy.port, values: [] });
      expect(addr(s.header.source)).toBe('127.0.0.1');
      expect(addr(s.header.destination)).toBe('127.0.0.1');
      expect(s.header.sourcePort).toBeGreaterThan(0);
    }
    expect(backend.rejected).toBe(0);
  });

  it('over TCP: one header per connection, a client reuses its own connection, another client never does, and it closes with the client', async () => {
    const before = backend.connections;
    const closedBefore = backend.closedConnections;
    const q = (id: number): Buffer => encodeQuery('tcp.example.', { id });
    const [a1, a2] = await Promise.all([tcpQueries(proxy.port, [q(1), q(2), q(3)]), tcpQueries(proxy.port, [q(4), q(5)])]);
    expect(a1.map((a) => a.id).sort()).toEqual([1, 2, 3]);
    expect(a2.map((a) => a.id).sort()).toEqual([4, 5]);
    const seen = backend.forName('tcp.example');
    expect(seen).toHaveLength(5);
    const byConnection = new Map<number, Seen[]>();
    for (const s of seen) byConnection.set(s.connection, [...(byConnection.get(s.connection) ?? []), s]);
    // Two clients, two backend connections: each carries only queries of the client its header names.
    expect(backend.connections - before).toBe(2);
    expect([...byConnection.values()].map((l) => l.length).sort()).toEqual([2, 3]);
    for (const list of byConnection.values()) {
      expect(list[0]!.header).toMatchObject({ tcp: true, destinationPort: proxy.port });
      expect(new Set(list.map((s) => s.header.sourcePort)).size).toBe(1);
    }
    const ports = [...byConnection.values()].map((l) => l[0]!.header.sourcePort);
    expect(ports[0]).not.toBe(ports[1]);
    // Both clients hung up: the connections that named them are closed too.
    await waitFor('backend connections closed with their clients', () => backend.closedConnections - closedBefore === 2);
  });

  it('sends the TLVs of SetProxyProtocolValuesAction and SetAdditionalProxyProtocolValueAction, over UDP and TCP', async () => {
    await udpExchange(proxy.port, encodeQuery('values.example.'));
    await tcpQueries(proxy.port, [encodeQuery('values.example.')]);
    const seen = backend.forName('values.example');
    expect(seen.map((s) => s.transport)).toEqual(['udp', 'tcp']);
    for (const s of seen)
      expect(tlvs(s.header)).toEqual([
        [1, 'dnsdist'],
        [255, 'proxy-protocol'],
        [2, 'more'],
      ]);
  });

  it('lets Lua read and replace the values (dq:getProxyProtocolValues / setProxyProtocolValues)', async () => {
    await udpExchange(proxy.port, encodeQuery('lua.example.'));
    expect(tlvs(backend.forName('lua.example')[0]!.header)).toEqual([
      [7, 'seven'],
      [42, 'bar'],
    ]);
  });

  it('opens another connection when a later query of the same client carries other TLVs', async () => {
    const before = backend.connections;
    const answers = await tcpQueries(proxy.port, [encodeQuery('plainvalues.example.', { id: 1 })]).then(async () =>
      // A fresh client: its first query without TLVs, its second with them.
      tcpQueriesInOrder(proxy.port, [encodeQuery('seq.example.', { id: 1 }), encodeQuery('values.example.', { id: 2 })]),
    );
    expect(answers).toEqual([1, 2]);
    const conns = backend.seen.filter((s) => s.connection > before && s.name !== 'plainvalues.example');
    expect(new Set(conns.map((s) => s.connection)).size).toBe(2);
  });

  it('gives a UDP query to a tcpOnly proxied backend a connection of its own with a TCP header', async () => {
    const before = backend.connections;
    await udpExchange(proxy.port, encodeQuery('tcponly.example.'));
    await udpExchange(proxy.port, encodeQuery('tcponly.example.'));
    const seen = backend.forName('tcponly.example');
    expect(seen).toHaveLength(2);
    expect(seen.every((s) => s.header.tcp)).toBe(true);
    expect(backend.connections - before).toBe(2);
  });

  it("TeeAction with addProxyProtocol=true sends its copy behind a header with the query's values", async () => {
    const query = encodeQuery('tee.example.', { id: 0x7171 });
    expect(await udpExchange(proxy.port, query)).toBeDefined();
    await waitFor('the copy at the proxy-aware server', () => backend.forName('tee.example').length === 1);
    const [copy] = backend.forName('tee.example');
    expect(copy!.header).toMatchObject({ tcp: false, destinationPort: proxy.port });
    expect(tlvs(copy!.header)).toEqual([[3, 'teed']]);
  });

  it('sends nothing but the DNS message to a backend without useProxyProtocol', async () => {
    const a = await udpExchange(proxy.port, encodeQuery('plain.example.'));
    expect(a && dnsPacket.decode(a).answers?.[0]).toMatchObject({ data: '192.0.2.54' });
    const sent = plainQueries.find((q) => dnsPacket.decode(q).questions?.[0]?.name === 'plain.example');
    expect(sent).toBeDefined();
    expect(typeof parseProxyProtocolHeader(sent!, sent!.length)).toBe('number');
  });
});

describe('outgoing proxy protocol to a DoT backend (newServer{useProxyProtocol=true, tls=…})', () => {
  let backend: ProxyAwareBackend;
  let cert: TestCertificate;
  let proxy: RunningProxy;

  beforeAll(async () => {
    backend = new ProxyAwareBackend();
    await backend.start();
    cert = await makeCertificate('dot.test');
    const dotPort = await backend.startTls(cert);
    proxy = await startProxy(`setLocal("127.0.0.1:\${PORT}")
newServer{address="127.0.0.1:${dotPort}", tls="openssl", subjectName="dot.test", caStore="${cert.cert}", useProxyProtocol=true}
addAction("values.example.", SetAdditionalProxyProtocolValueAction(2, "dot"))
`);
    // The health check reaches the backend over TLS, behind a LOCAL header.
    await waitFor('the LOCAL-header health check over TLS', () => backend.localChecks >= 1);
  });

  afterAll(async () => {
    await proxy?.stop();
    await backend?.close();
    cert?.cleanup();
  });

  it('sends the header inside TLS, once per connection, naming the TCP client; its queries reuse the connection', async () => {
    const before = backend.connections;
    const q = (id: number): Buffer => encodeQuery('dot.example.', { id });
    const answers = await tcpQueries(proxy.port, [q(1), q(2)]);
    expect(answers.map((a) => a.id).sort()).toEqual([1, 2]);
    const seen = backend.forName('dot.example');
    expect(seen).toHaveLength(2);
    expect(new Set(seen.map((s) => s.connection)).size).toBe(1);
    expect(seen[0]!.connection).toBeGreaterThan(before);
    expect(seen[0]!.header).toMatchObject({ local: false, tcp: true, destinationPort: proxy.port });
    expect(addr(seen[0]!.header.source)).toBe('127.0.0.1');
    expect(backend.tlsErrors).toBe(0);
    expect(backend.rejected).toBe(0);
  });

  it("carries a UDP client's query and the actions' TLVs behind a TCP header on a connection of its own", async () => {
    const a = await udpExchange(proxy.port, encodeQuery('values.example.'));
    expect(a && dnsPacket.decode(a).answers?.[0]).toMatchObject({ data: '192.0.2.53' });
    const [s] = backend.forName('values.example');
    expect(s!.header).toMatchObject({ tcp: true, destinationPort: proxy.port });
    expect(tlvs(s!.header)).toEqual([[2, 'dot']]);
    expect(backend.tlsErrors).toBe(0);
  });
});

describeDnsdist('outgoing proxy protocol to a dnsdist 1.7.3 DoT frontend that accepts it', () => {
  let cert: TestCertificate;
  let dnsdist: SpawnedDnsdist;
  let proxy: RunningProxy;

  beforeAll(async () => {
    cert = await makeCertificate('dot.test');
    const dotPort = await freePort();
    // 1.7.3 reads the header inside TLS (setProxyProtocolACL) and answers by the TLV it carries.
    dnsdist = spawnDnsdist(`setLocal("127.0.0.1:${await freePort()}")
setProxyProtocolACL({"127.0.0.0/8"})
addTLSLocal("127.0.0.1:${dotPort}", "${cert.cert}", "${cert.key}")
addAction(ProxyProtocolValueRule(2, "dot"), SpoofAction("192.0.2.77"))
addAction(AllRule(), SpoofAction("192.0.2.1"))
`);
    await waitFor('dnsdist 1.7.3 listening for TLS', () => dnsdist.output().includes(`127.0.0.1:${dotPort} for TLS`), 15_000);
    proxy = await startProxy(`setLocal("127.0.0.1:\${PORT}")
newServer{address="127.0.0.1:${dotPort}", tls="openssl", subjectName="dot.test", caStore="${cert.cert}", useProxyProtocol=true}
addAction(AllRule(), SetAdditionalProxyProtocolValueAction(2, "dot"))
`);
  });

  afterAll(async () => {
    await proxy?.stop();
    await dnsdist?.stop();
    cert?.cleanup();
  });

  it('is answered by the TLV dnsdist 1.7.3 read from the header, for UDP and TCP clients', async () => {
    const a = await udpQuery(proxy.port, 'udp.dot.example.', { timeoutMs: 5000 });
    expect(a?.answers?.[0]?.data).toBe('192.0.2.77');
    const [t] = await tcpQueries(proxy.port, [encodeQuery('tcp.dot.example.')], 5000);
    expect(t?.answers?.[0]?.data).toBe('192.0.2.77');
  });
});

describe('outgoing proxy protocol for DNS over HTTPS clients', () => {
  let backend: ProxyAwareBackend;
  let cert: TestCertificate;
  let proxy: RunningProxy;
  let port: number;
  let tlsArgs: string[];

  beforeAll(async () => {
    backend = new ProxyAwareBackend();
    await backend.start();
    cert = await makeCertificate();
    proxy = await startProxy(
      `setLocal("127.0.0.1:\${PORT}")
newServer{address="127.0.0.1:${backend.port}", useProxyProtocol=true}
addDOHLocal("127.0.0.1:0", "${cert.cert}", "${cert.key}", "/dns-query", {trustForwardedForHeader=true})
addAction("values.example.", SetAdditionalProxyProtocolValueAction(2, "doh"))
addAction("tee.example.", TeeAction("127.0.0.1:${backend.port}", false, nil, true))
`,
      {},
      oneWorker('per-worker-connections'),
    );
    port = proxy.app.proxy.dohFrontends[0]!.local.port;
    tlsArgs = ['--http2', '--resolve', `doh.test:${port}:127.0.0.1`, '--cacert', cert.cert];
    await waitFor('the LOCAL-header health check', () => backend.localChecks >= 1);
  });

  afterAll(async () => {
    await proxy?.stop();
    await backend?.close();
    cert?.cleanup();
  });

  const ask = (name: string, headers: string[] = []): ReturnType<typeof curl> =>
    curl(`https://doh.test:${port}/dns-query?dns=${dnsParam(encodeQuery(name))}`, [...tlsArgs, ...headers]);

  it('the UDP datagram carries a TCP header naming the DoH client, the DoH port and the TLVs (dnsdist: DoH is a TCP query)', async () => {
    const r = await ask('values.example.');
    expect(r.status).toBe(200);
    const [s] = backend.forName('values.example');
    expect(s!.transport).toBe('udp');
    expect(s!.header).toMatchObject({ local: false, tcp: true, destinationPort: port });
    expect([addr(s!.header.source), addr(s!.header.destination)]).toEqual(['127.0.0.1', '127.0.0.1']);
    expect(tlvs(s!.header)).toEqual([[2, 'doh']]);
  });

  it('a TC=1 answer over UDP sends the query again over TCP, behind a TCP header naming the same client', async () => {
    const r = await ask('truncated.example.');
    expect(r.status).toBe(200);
    expect(dnsPacket.decode(r.body).answers?.[0]).toMatchObject({ data: '192.0.2.53' });
    const seen = backend.forName('truncated.example');
    expect(seen.map((s) => [s.transport, s.header.tcp, s.header.destinationPort])).toEqual([
      ['udp', true, port],
      ['tcp', true, port],
    ]);
  });

  it('names the X-Forwarded-For client, and drops one whose family differs from the local address', async () => {
    const mixed = await ask('mixed.example.', ['-H', 'X-Forwarded-For: [::1]:8080', '--max-time', '3']).catch(() => undefined);
    expect(mixed?.status ?? 0).not.toBe(200);
    const r = await ask('forwarded.example.', ['-H', 'X-Forwarded-For: 127.0.0.42:8080']);
    expect(r.status).toBe(200);
    expect(backend.forName('mixed.example')).toHaveLength(0);
    const [s] = backend.forName('forwarded.example');
    expect(s!.header).toMatchObject({ tcp: true, sourcePort: 8080, destinationPort: port });
    expect(addr(s!.header.source)).toBe('127.0.0.42');
  });

  it('TeeAction copies no DoH query: counted in tcp-drops as dnsdist does (a DoH query is a TCP query there)', async () => {
    expect((await ask('tee.example.')).status).toBe(200);
    expect(backend.forName('tee.example')).toHaveLength(1);
    expect(proxy.app.runConsoleCommand('print(getAction(1):getStats()["tcp-drops"])').trim()).toBe('1');
  });
});

/** Queries on one TCP connection, each sent after the previous answer; resolves with the answers' IDs. */
function tcpQueriesInOrder(port: number, queries: Buffer[]): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const ids: number[] = [];
    let buf = Buffer.alloc(0);
    const send = (q: Buffer): boolean => socket.write(Buffer.concat([Buffer.from([q.length >> 8, q.length & 0xff]), q]));
    socket.on('connect', () => send(queries[0]!));
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        ids.push(buf.readUInt16BE(2));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
        if (ids.length === queries.length) {
          socket.end();
          resolve(ids);
          return;
        }
        send(queries[ids.length]!);
      }
    });
    socket.on('error', reject);
  });
}

describe('outgoing proxy protocol: a read timeout', () => {
  let backend: ProxyAwareBackend;
  let proxy: RunningProxy;

  beforeAll(async () => {
    backend = new ProxyAwareBackend();
    await backend.start();
    proxy = await startProxy(`setLocal("127.0.0.1:\${PORT}")
setUDPTimeout(1)
newServer{address="127.0.0.1:${backend.port}", useProxyProtocol=true, tcpOnly=true}
`);
    await waitFor('the LOCAL-header health check', () => backend.localChecks >= 1);
  });

  afterAll(async () => {
    await proxy?.stop();
    await backend?.close();
  });

  it("closes the proxied connection of a UDP client's query that timed out (as dnsdist closes a backend connection on a read timeout)", async () => {
    const server = proxy.app.proxy.servers[0]!;
    const closedBefore = backend.closedConnections;
    expect(await udpExchange(proxy.port, encodeQuery('silent.example.'), 500)).toBeUndefined();
    await waitFor('the query at the backend', () => backend.forName('silent.example').length === 1);
    await waitFor('the read timeout', () => server.counters.tcpReadTimeouts === 1, 10000);
    await waitFor('the timed-out connection closed', () => backend.closedConnections - closedBefore === 1);
    expect(server.tcpCurrentConnections).toBe(0);
  });
});
