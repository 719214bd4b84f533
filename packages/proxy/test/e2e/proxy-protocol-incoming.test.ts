/**
 * Incoming proxy protocol (setProxyProtocolACL) with real sockets: a load
 * balancer on 127.0.0.1 puts a v2 header before its queries, over UDP and
 * TCP; the client the header names is what rules and Lua see, the answer
 * goes back to the sender, and a missing or bad header is counted in
 * proxy-protocol-invalid and dropped.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import * as dnsPacket from 'dns-packet';
import { makeProxyProtocolHeader, type ProxyProtocolValue } from '@dnsdist-ts/dns';
import { encodeQuery, waitFor } from '../support/dns-client.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';

const SRC = Uint8Array.from([192, 0, 2, 8]);
const DST = Uint8Array.from([198, 51, 100, 9]);
const foo: ProxyProtocolValue[] = [{ type: 2, value: Buffer.from('foo') }];

function header(tcp: boolean, values: ProxyProtocolValue[] = foo, src = SRC): Buffer {
  return makeProxyProtocolHeader(tcp, src, 8888, DST, 9999, values);
}

/** One datagram to the proxy, the answer or undefined after `timeoutMs` (a drop). */
function udpSend(port: number, payload: Buffer, timeoutMs = 700): Promise<dnsPacket.Packet | undefined> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      resolve(undefined);
    }, timeoutMs);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(dnsPacket.decode(m));
    });
    s.send(payload, port, '127.0.0.1');
  });
}

/** A TCP connection sending `first` then each query after the previous answer; the answers, or the reason it ended. */
function tcpSession(port: number, first: Buffer, queries: Buffer[]): Promise<dnsPacket.Packet[] | 'closed'> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const answers: dnsPacket.Packet[] = [];
    let buf = Buffer.alloc(0);
    const frame = (q: Buffer): Buffer => Buffer.concat([Buffer.from([q.length >> 8, q.length & 0xff]), q]);
    socket.on('connect', () => socket.write(Buffer.concat([first, frame(queries[0]!)])));
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        answers.push(dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0))));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
        if (answers.length === queries.length) {
          socket.end();
          resolve(answers);
          return;
        }
        socket.write(frame(queries[answers.length]!));
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(answers.length === queries.length ? answers : 'closed'));
  });
}

const rcode = (a: dnsPacket.Packet | undefined): string | undefined => (a as { rcode?: string } | undefined)?.rcode;
const cname = (a: dnsPacket.Packet | undefined): string | undefined => (a?.answers?.[0] as { data?: string } | undefined)?.data;

describe('incoming proxy protocol (setProxyProtocolACL)', () => {
  let proxy: RunningProxy;

  beforeAll(async () => {
    proxy = await startProxy(`setLocal("127.0.0.1:\${PORT}")
setACL({"127.0.0.0/8", "192.0.2.0/24"})
setProxyProtocolACL({"127.0.0.1/32"})
addAction(AndRule{QNameRule("who.example."), NotRule(ProxyProtocolValueRule(2, "foo"))}, RCodeAction(DNSRCode.REFUSED))
function who(dq)
  local v = dq:getProxyProtocolValues()
  return DNSAction.Spoof, "src-"..dq.remoteaddr:toString().."-"..dq.remoteaddr:getPort().."-dst-"..dq.localaddr:toString().."-"..dq.localaddr:getPort().."-tlv-"..(v[2] or "none")..".example."
end
addAction("who.example.", LuaAction(who))
addAction(NetmaskGroupRule("192.0.2.0/24"), RCodeAction(DNSRCode.NXDOMAIN))
`);
  });

  afterAll(async () => {
    await proxy?.stop();
  });

  const counters = (): { proxyProtocolInvalid: number; aclDrops: number } => proxy.app.proxy.counters;
  // With workers the control plane sums their counters a few times a second: wait for the count expected.
  const counted = (what: 'proxyProtocolInvalid' | 'aclDrops', before: number, n: number): Promise<void> =>
    waitFor(`${what} to grow by ${n}`, () => counters()[what] - before === n);

  it('over UDP: rules and Lua see the client and values the header names, the answer returns to the sender', async () => {
    const a = await udpSend(proxy.port, Buffer.concat([header(false), encodeQuery('who.example.', { type: 'CNAME' })]));
    expect(cname(a)).toBe('src-192.0.2.8-8888-dst-198.51.100.9-9999-tlv-foo.example');
    // NetmaskGroupRule matches the named client (192.0.2.8), not the sender (127.0.0.1).
    const b = await udpSend(proxy.port, Buffer.concat([header(false), encodeQuery('other.example.')]));
    expect(rcode(b)).toBe('NXDOMAIN');
    // ProxyProtocolValueRule: without value 2 = "foo" the query is refused.
    const c = await udpSend(proxy.port, Buffer.concat([header(false, []), encodeQuery('who.example.')]));
    expect(rcode(c)).toBe('REFUSED');
  });

  it('over UDP: a query without the header, or with a bad or oversized one, is dropped and counted in proxy-protocol-invalid', async () => {
    const before = counters().proxyProtocolInvalid;
    expect(await udpSend(proxy.port, encodeQuery('who.example.'))).toBeUndefined();
    const bad = header(false);
    bad[12] = 0x11; // version 1 in the binary header
    expect(await udpSend(proxy.port, Buffer.concat([bad, encodeQuery('who.example.')]))).toBeUndefined();
    const big = header(false, [{ type: 9, value: Buffer.alloc(600) }]);
    expect(await udpSend(proxy.port, Buffer.concat([big, encodeQuery('who.example.')]))).toBeUndefined();
    await counted('proxyProtocolInvalid', before, 3);
  });

  it('over TCP: one header opens the connection, every query on it is the named client', async () => {
    const answers = await tcpSession(proxy.port, header(true), [
      encodeQuery('who.example.', { type: 'CNAME' }),
      encodeQuery('who.example.', { type: 'CNAME' }),
    ]);
    expect(answers).not.toBe('closed');
    for (const a of answers as dnsPacket.Packet[]) expect(cname(a)).toBe('src-192.0.2.8-8888-dst-198.51.100.9-9999-tlv-foo.example');
  });

  it('over TCP: a connection without a valid header is closed and counted', async () => {
    const before = counters().proxyProtocolInvalid;
    expect(await tcpSession(proxy.port, Buffer.alloc(0), [encodeQuery('who.example.')])).toBe('closed');
    await counted('proxyProtocolInvalid', before, 1);
  });

  it('with setProxyProtocolApplyACLToProxiedClients(true) the named client must pass setACL too (acl-drops)', async () => {
    const outside = Uint8Array.from([203, 0, 113, 1]);
    const query = Buffer.concat([header(false, foo, outside), encodeQuery('who.example.', { type: 'CNAME' })]);
    expect(cname(await udpSend(proxy.port, query))).toMatch(/^src-203\.0\.113\.1-/);
    // Through the console, whose reply waits until every worker has the change.
    expect(await proxy.app.runConsoleCommandSliced('setProxyProtocolApplyACLToProxiedClients(true)')).toBe('');
    try {
      const before = counters().aclDrops;
      expect(await udpSend(proxy.port, query)).toBeUndefined();
      await counted('aclDrops', before, 1);
    } finally {
      await proxy.app.runConsoleCommandSliced('setProxyProtocolApplyACLToProxiedClients(false)');
    }
  });
});
