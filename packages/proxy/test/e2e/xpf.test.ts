/**
 * newServer{addXPF=code} with a real backend that reads the XPF record as an
 * XPF-aware resolver does (it refuses a query without one): the client's
 * address, port and protocol over UDP and TCP, and no record for a backend
 * without the option.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import * as dnsPacket from 'dns-packet';
import { loadConfigurationOutput, startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { answerWithA, startUdpTcpBackend, type TestBackend } from '../support/test-backends.js';

const XPF_CODE = 65422;

interface Xpf {
  name: string;
  version: number;
  protocol: number;
  source: string;
  destination: string;
  sourcePort: number;
  destinationPort: number;
}

/** The XPF record of a query (type XPF_CODE, owner ".", class IN, TTL 0), or undefined. */
function readXpf(query: Buffer): Xpf | undefined {
  const q = dnsPacket.decode(query);
  const rr = (q.additionals ?? []).find((a) => a.type === (`UNKNOWN_${XPF_CODE}` as dnsPacket.RecordType)) as
    { name: string; class: string; ttl: number; data: Buffer } | undefined;
  if (rr === undefined || rr.name !== '.' || rr.class !== 'IN' || rr.ttl !== 0) return undefined;
  const d = rr.data;
  if (d.length !== 14) return undefined;
  return {
    name: q.questions![0]!.name,
    version: d[0]!,
    protocol: d[1]!,
    source: [...d.subarray(2, 6)].join('.'),
    destination: [...d.subarray(6, 10)].join('.'),
    sourcePort: d.readUInt16BE(10),
    destinationPort: d.readUInt16BE(12),
  };
}

function udpFromKnownPort(port: number, query: Buffer): Promise<{ answer: Buffer; localPort: number }> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.on('error', reject);
    s.on('message', (answer) => {
      const localPort = s.address().port;
      s.close();
      resolve({ answer, localPort });
    });
    s.bind(0, '127.0.0.1', () => s.send(query, port, '127.0.0.1'));
  });
}

function tcpFromKnownPort(port: number, query: Buffer): Promise<{ answer: Buffer; localPort: number }> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    s.on('error', reject);
    s.on('connect', () => s.write(Buffer.concat([Buffer.from([query.length >> 8, query.length & 0xff]), query])));
    s.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const localPort = s.localPort!;
        s.end();
        resolve({ answer: buf.subarray(2, 2 + buf.readUInt16BE(0)), localPort });
      }
    });
  });
}

const query = (name: string): Buffer =>
  dnsPacket.encode({ type: 'query', id: 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name, class: 'IN' }] });

describe('XPF (newServer{addXPF=code})', () => {
  let xpfBackend: TestBackend;
  let plainBackend: TestBackend;
  const seen: Xpf[] = [];
  let refused = 0;
  const plainQueries: Buffer[] = [];
  let proxy: RunningProxy;

  beforeAll(async () => {
    xpfBackend = await startUdpTcpBackend((q) => {
      const xpf = readXpf(q);
      const decoded = dnsPacket.decode(q);
      if (xpf === undefined) {
        refused++;
        return dnsPacket.encode({ type: 'response', id: decoded.id, flags: 5, questions: decoded.questions });
      }
      seen.push(xpf);
      return answerWithA(decoded, '192.0.2.80');
    });
    plainBackend = await startUdpTcpBackend((q) => {
      plainQueries.push(Buffer.from(q));
      return answerWithA(dnsPacket.decode(q), '192.0.2.81');
    });
    proxy = await startProxy(`setLocal("127.0.0.1:\${PORT}")
newServer{address="127.0.0.1:${xpfBackend.port}", addXPF=${XPF_CODE}, healthCheckMode="up"}
newServer{address="127.0.0.1:${plainBackend.port}", pool="plain"}
addAction("plain.example.", PoolAction("plain"))
`);
  });

  afterAll(async () => {
    await proxy?.stop();
    await xpfBackend?.close();
    await plainBackend?.close();
  });

  it('names the UDP client: version 4, protocol 17, its address and port, the listener address and port', async () => {
    const { answer, localPort } = await udpFromKnownPort(proxy.port, query('udp.example.'));
    expect(dnsPacket.decode(answer).answers?.[0]).toMatchObject({ data: '192.0.2.80' });
    expect(seen.filter((s) => s.name === 'udp.example')).toEqual([
      {
        name: 'udp.example',
        version: 4,
        protocol: 17,
        source: '127.0.0.1',
        destination: '127.0.0.1',
        sourcePort: localPort,
        destinationPort: proxy.port,
      },
    ]);
  });

  it('says TCP (6) for a query over TCP', async () => {
    const { answer, localPort } = await tcpFromKnownPort(proxy.port, query('tcp.example.'));
    expect(dnsPacket.decode(answer).answers?.[0]).toMatchObject({ data: '192.0.2.80' });
    expect(seen.filter((s) => s.name === 'tcp.example')).toEqual([
      expect.objectContaining({ protocol: 6, source: '127.0.0.1', sourcePort: localPort, destinationPort: proxy.port }),
    ]);
    expect(refused).toBe(0);
  });

  it('adds nothing for a backend without addXPF', async () => {
    const q = query('plain.example.');
    const { answer } = await udpFromKnownPort(proxy.port, q);
    expect(dnsPacket.decode(answer).answers?.[0]).toMatchObject({ data: '192.0.2.81' });
    const got = plainQueries.find((p) => dnsPacket.decode(p).questions?.[0]?.name === 'plain.example');
    expect(got?.length).toBe(q.length);
    expect(got?.readUInt16BE(10)).toBe(0);
  });

  it('refuses an addXPF that is no RR type, naming the option', async () => {
    await expect(loadConfigurationOutput('newServer{address="127.0.0.1:53", addXPF=70000}')).rejects.toThrow(/addXPF must be the RR type/);
  });
});
