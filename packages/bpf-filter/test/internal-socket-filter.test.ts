import { createSocket, type Socket } from 'node:dgram';
import { connect, createServer } from 'node:net';
import { BPFFilter } from '../src/bpf-filter.js';
import { describeBpf } from '../../../test/support/require-bpf.js';
import { dnsQuery } from './dns-query.js';

async function sendFrom(src: string, port: number, packets: Buffer[]): Promise<void> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, src, r));
  for (const p of packets) await new Promise<void>((r) => s.send(p, port, '127.0.0.1', () => r()));
  s.close();
}

/** Kernel counters have no event to wait on: poll them, bounded. */
async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describeBpf('internal mode: the socket filter on the legacy maps', () => {
  let f: BPFFilter;
  beforeAll(() => {
    f = BPFFilter.fromArgs([16, 16, 16]);
    f.block('127.0.0.2');
    f.blockQName('Blocked.Example', 16);
    f.blockQName('all.example');
    f.blockQName('all2x.example', 65535); // dnsdist 2.x's "any type"
  });
  afterAll(() => f?.close());

  it('drops UDP from blocked sources and queries for blocked name/qtype pairs, counting hits', async () => {
    const sock: Socket = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    const port = sock.address().port;
    f.attach(sock);
    const got: string[] = [];
    let done: () => void = () => {};
    const finished = new Promise<void>((r) => (done = r));
    sock.on('message', (m) => {
      const tag = m.subarray(13, 13 + m[12]!).toString();
      got.push(`${tag}/${m.readUInt16BE(m.length - 4)}`);
      if (tag === 'last') done();
    });
    try {
      await sendFrom('127.0.0.2', port, [dnsQuery('fine.example', 1)]);
      await sendFrom('127.0.0.3', port, [
        dnsQuery('blocked.example', 16),
        dnsQuery('BLOCKED.example', 16),
        dnsQuery('blocked.example', 1),
        dnsQuery('all.example', 28),
        dnsQuery('sub.all.example', 28),
        dnsQuery('all2x.example', 33),
        dnsQuery('fine.example', 1),
        dnsQuery('last', 1),
      ]);
      await finished;
      expect(got).toEqual(['blocked/1', 'sub/28', 'fine/1', 'last/1']);
      const stats = f.entries();
      expect(stats).toContainEqual({ kind: 'ipv4', address: '127.0.0.2', action: 1, counter: 1n });
      expect(stats).toContainEqual({ kind: 'qname', name: 'blocked.example.', qtype: 16, action: 1, counter: 2n });
      expect(stats).toContainEqual({ kind: 'qname', name: 'all.example.', qtype: 255, action: 1, counter: 1n });
    } finally {
      f.detach(sock);
      sock.close();
    }
  });

  it("drops UDP datagrams whose name starts with a byte over 63, as dnsdist's filter does", async () => {
    const sock: Socket = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    const port = sock.address().port;
    f.attach(sock);
    const ids: number[] = [];
    let done: () => void = () => {};
    const finished = new Promise<void>((r) => (done = r));
    sock.on('message', (m) => {
      ids.push(m.readUInt16BE(0));
      if (m.readUInt16BE(0) === 99) done();
    });
    // A header, then the name bytes as given, then qtype A, class IN.
    const raw = (id: number, name: number[]) => {
      const h = dnsQuery('x', 1, id).subarray(0, 12);
      return Buffer.concat([h, Buffer.from(name), Buffer.from([0, 1, 0, 1])]);
    };
    try {
      await sendFrom('127.0.0.3', port, [
        raw(1, [0xc0, 0x0c]), // a compression pointer first: dropped
        raw(2, [64, ...Buffer.alloc(64, 0x61), 0]), // a 64-byte first label: dropped
        raw(3, [0x80, 0]), // a reserved label type first: dropped
        raw(4, [1, 0x61, 64, ...Buffer.alloc(64, 0x61), 0]), // over 63 further on: no match, delivered
        raw(5, [0]), // the root name: delivered
        dnsQuery('last', 1, 99),
      ]);
      await finished;
      expect(ids).toEqual([4, 5, 99]);
    } finally {
      f.detach(sock);
      sock.close();
    }
  });

  it('drops TCP connections from blocked sources on a listening socket', async () => {
    const server = createServer((c) => c.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    f.attach(server);
    try {
      const before = f.entries().find((e) => e.kind === 'ipv4')!.counter;
      const blocked = connect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' });
      blocked.on('error', () => {});
      await until(() => f.entries().find((e) => e.kind === 'ipv4')!.counter > before);
      blocked.destroy();
      const reply = await new Promise<string>((resolve, reject) => {
        const c = connect({ port, host: '127.0.0.1', localAddress: '127.0.0.4' });
        let data = '';
        c.on('data', (d) => (data += d.toString()));
        c.on('end', () => resolve(data));
        c.on('error', reject);
      });
      expect(reply).toBe('ok');
    } finally {
      f.detach(server);
      server.close();
    }
  });

  it('an external filter has no socket filter to attach', () => {
    const ext = BPFFilter.fromArgs([4, 4, 4, true]);
    const s = createSocket('udp4');
    try {
      expect(() => ext.attach(s)).toThrow(/enforced by an XDP program/);
    } finally {
      s.close();
      ext.close();
    }
  });
});
