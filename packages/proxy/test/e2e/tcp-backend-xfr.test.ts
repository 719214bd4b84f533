/**
 * Zone transfers over TCP: a backend answers an AXFR or IXFR with several
 * messages; every one of them reaches the client, up to the message that
 * ends the transfer (dnsdist 1.7.3's SOA counting), and nothing after it.
 * The client connection then ends, as it carried a transfer.
 */
import net from 'node:net';
import * as dnsPacket from 'dns-packet';
import { encodeQuery, tcpQuery, waitFor } from '../support/dns-client.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { onFramedMessages, tcpFrame } from '../support/tcp-framing.js';

type Rr = dnsPacket.Answer;

const soa = (name: string, serial: number): Rr => ({
  type: 'SOA',
  name,
  ttl: 60,
  data: { mname: `ns.${name}`, rname: `hostmaster.${name}`, serial, refresh: 3600, retry: 3600, expire: 3600, minimum: 60 },
});
const a = (name: string, address: string): Rr => ({ type: 'A', name, ttl: 60, data: address });
const txt = (name: string, text: string): Rr => ({ type: 'TXT', name, ttl: 60, data: text });

interface Script {
  /** Answer sections of the messages sent for this name, in order. */
  messages: Rr[][];
  rcode?: string;
}

/**
 * A TCP backend that answers each transfer query with its script's messages
 * (all written at once) and any other query with one A record. It keeps its
 * connections open, as a server would between queries.
 */
async function xfrBackend(scripts: Record<string, Script>) {
  const state = { connections: 0, queries: 0 };
  const server = net.createServer((socket) => {
    state.connections++;
    onFramedMessages(socket, (message) => {
      const q = dnsPacket.decode(message);
      state.queries++;
      const question = q.questions![0]!;
      const script = scripts[question.name];
      const messages = script?.messages ?? [[a(question.name, '192.0.2.53')]];
      const out = messages.map((answers) =>
        tcpFrame(
          dnsPacket.encode({
            type: 'response',
            id: q.id,
            flags: script?.rcode === 'NOTAUTH' ? 9 : 0,
            questions: [question],
            answers,
          }),
        ),
      );
      socket.write(Buffer.concat(out));
    });
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    state,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

interface Transfer {
  messages: dnsPacket.Packet[];
  /** The proxy ended the connection (rather than the test's timeout). */
  ended: boolean;
}

/** Ask one transfer on a new connection; collect messages until the proxy ends the connection (or 10 s pass). */
function transfer(port: number, name: string, type: 'AXFR' | 'IXFR', id: number): Promise<Transfer> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const messages: dnsPacket.Packet[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ messages, ended: false });
    }, 10000);
    socket.on('connect', () => socket.write(tcpFrame(encodeQuery(name, { type, id }))));
    onFramedMessages(socket, (message) => messages.push(dnsPacket.decode(message)));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ messages, ended: true });
    });
  });
}

describe('zone transfers over TCP', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
  });

  async function setup(scripts: Record<string, Script>): Promise<{ proxy: RunningProxy; backend: Awaited<ReturnType<typeof xfrBackend>> }> {
    const backend = await xfrBackend(scripts);
    cleanups.push(() => backend.close());
    const proxy = await startProxy(`setLocal("127.0.0.1:\${PORT}") newServer{address="127.0.0.1:\${B}", healthCheckMode="up"}`, {
      B: backend.port,
    });
    cleanups.push(() => proxy.stop());
    return { proxy, backend };
  }

  const zone = 'axfr.xfr.test';

  it('passes every message of an AXFR up to the closing SOA, not the trailing one, then ends the connection', async () => {
    const { proxy } = await setup({
      [zone]: {
        messages: [
          [soa(zone, 7)],
          [a(zone, '192.0.2.1')],
          [txt(zone, 'middle')],
          [a(`www.${zone}`, '192.0.2.2'), soa(zone, 7)],
          [txt(zone, 'trailing, after the transfer ended')],
        ],
      },
    });
    const t = await transfer(proxy.port, zone, 'AXFR', 4242);
    expect(t.ended).toBe(true);
    expect(t.messages).toHaveLength(4);
    for (const m of t.messages) expect(m.id).toBe(4242);
    expect(t.messages.map((m) => m.answers!.map((r) => r.type).join(','))).toEqual(['SOA', 'A', 'TXT', 'A,SOA']);
    await waitFor('the transfer no longer outstanding', () => proxy.app.proxy.servers[0]!.outstanding === 0);
  });

  it('ends an IXFR when the new serial comes back for the third time', async () => {
    const name = 'ixfr.xfr.test';
    const { proxy } = await setup({
      [name]: {
        messages: [
          // New serial 3; the difference 1 → 2 (its old and new SOA) starts…
          [soa(name, 3), soa(name, 1), a(name, '192.0.2.1'), soa(name, 2)],
          [a(name, '192.0.2.2'), soa(name, 2)],
          // …then 2 → 3: serial 3 twice more closes it.
          [soa(name, 3), a(name, '192.0.2.4'), soa(name, 3)],
          [txt(name, 'trailing')],
        ],
      },
    });
    const t = await transfer(proxy.port, name, 'IXFR', 77);
    expect(t.ended).toBe(true);
    expect(t.messages).toHaveLength(3);
  });

  it('ends a transfer at a message with an error RCODE', async () => {
    const name = 'refused.xfr.test';
    const { proxy } = await setup({ [name]: { rcode: 'NOTAUTH', messages: [[], [txt(name, 'never sent')]] } });
    const t = await transfer(proxy.port, name, 'AXFR', 5);
    expect(t.ended).toBe(true);
    expect(t.messages).toHaveLength(1);
    expect((t.messages[0] as { rcode?: string }).rcode).toBe('NOTAUTH');
  });

  it('reuses the backend connection for the next query once the transfer ended, ignoring the trailing message', async () => {
    const { proxy, backend } = await setup({
      [zone]: { messages: [[soa(zone, 9)], [a(zone, '192.0.2.1'), soa(zone, 9)], [txt(zone, 'trailing')]] },
    });
    const t = await transfer(proxy.port, zone, 'AXFR', 1);
    expect(t.messages).toHaveLength(2);
    const answer = await tcpQuery(proxy.port, 'after.xfr.test', { id: 2 });
    expect(answer.id).toBe(2);
    expect(answer.answers?.[0]).toMatchObject({ name: 'after.xfr.test', data: '192.0.2.53' });
    expect(backend.state.connections).toBe(1);
  });
});
