/**
 * TeeAction through real sockets: UDP queries are copied to a second
 * server (same ID and bytes) whose answers are counted by RCODE; TCP
 * queries are only counted; the query itself goes on to the backend. With
 * addECS the copy carries the client's subnet.
 */
import dgram from 'node:dgram';
import * as dnsPacket from 'dns-packet';
import type { DemoServer } from '../../src/demo/demo-authoritative-server.js';
import { encodeQuery, tcpQuery, udpExchange, udpQuery, waitFor } from '../support/dns-client.js';
import { startDemo, startProxy, type RunningProxy } from '../support/proxy-harness.js';

/** Answers NXDOMAIN to names starting with "nx", REFUSED to "ref", NOERROR otherwise; keeps what it got. */
async function teeServer() {
  const socket = dgram.createSocket('udp4');
  const got: Buffer[] = [];
  socket.on('message', (msg, rinfo) => {
    got.push(msg);
    const q = dnsPacket.decode(msg);
    const name = q.questions![0]!.name;
    const rcode = name.startsWith('nx') ? 3 : name.startsWith('ref') ? 5 : 0;
    socket.send(
      dnsPacket.encode({ type: 'response', id: q.id, flags: rcode, questions: q.questions } as dnsPacket.Packet),
      rinfo.port,
      rinfo.address,
    );
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  return { port: socket.address().port, got, close: () => new Promise<void>((r) => socket.close(() => r())) };
}

describe('TeeAction', () => {
  let demo: DemoServer;
  let tee: Awaited<ReturnType<typeof teeServer>>;
  let proxy: RunningProxy;

  beforeAll(async () => {
    demo = await startDemo();
    tee = await teeServer();
    proxy = await startProxy(
      `setLocal("127.0.0.1:\${PORT}")
       newServer{address="127.0.0.1:\${BACKEND}", healthCheckMode="up"}
       addAction(AllRule(), TeeAction("127.0.0.1:\${TEE}"))
       addAction("ecs.tee.test.", TeeAction("127.0.0.1:\${TEE}", true))`,
      { BACKEND: demo.port, TEE: tee.port },
    );
  });
  afterAll(async () => {
    await proxy?.stop();
    await tee?.close();
    await demo?.close();
  });

  it('copies UDP queries, counts the answers by RCODE and TCP queries as drops; the queries are still answered', async () => {
    const query = encodeQuery('www.example.test', { id: 0x4242 });
    const answer = await udpExchange(proxy.port, query);
    expect(answer && (dnsPacket.decode(answer).answers ?? []).length).toBeGreaterThan(0);
    for (const name of ['nx1.example.test', 'nx2.example.test', 'ref.example.test']) expect(await udpQuery(proxy.port, name)).toBeDefined();
    expect((await tcpQuery(proxy.port, 'tcp.example.test')).rcode).toBe('NXDOMAIN');
    await waitFor('the tee server to see 4 copies and the proxy to count 4 answers', () =>
      proxy.app.runConsoleCommand('getAction(0):printStats()').includes('responses\t4'),
    );
    expect(tee.got[0]).toEqual(query);
    // The text dnsdist 1.7.3's regression test (test_TeeAction.py) expects, newline-terminated lines.
    expect(proxy.app.runConsoleCommand('getAction(0):printStats()')).toBe(
      [
        'noerrors\t1',
        'nxdomains\t2',
        'other-rcode\t0',
        'queries\t4',
        'recv-errors\t0',
        'refuseds\t1',
        'responses\t4',
        'send-errors\t0',
        'servfails\t0',
        'tcp-drops\t1',
      ]
        .map((l) => `${l}\n`)
        .join(''),
    );
    expect(proxy.app.runConsoleCommand('showRules()')).toContain(`tee to 127.0.0.1:${tee.port}`);
    expect(proxy.app.runConsoleCommand('print(getAction(0):getStats()["tcp-drops"])').trim()).toBe('1');
  });

  it('with addECS, the copy carries the client subnet (127.0.0.0/24) in an OPT record added for it, beside the plain copy', async () => {
    const query = encodeQuery('ecs.tee.test', { id: 0x5151 });
    const before = tee.got.length;
    expect(await udpExchange(proxy.port, query)).toBeDefined();
    await waitFor('both copies at the tee server', () => tee.got.length === before + 2);
    const copies = tee.got.slice(before).map((b) => b.toString('hex'));
    // As test_TeeAction.py's testTeeWithECS: the query, an OPT record (payload 512) with ECS 127.0.0.0/24.
    const withEcs = Buffer.concat([query, Buffer.from([0, 0, 41, 2, 0, 0, 0, 0, 0, 0, 11, 0, 8, 0, 7, 0, 1, 24, 0, 127, 0, 0])]);
    withEcs.writeUInt16BE(1, 10);
    expect(copies.sort()).toEqual([query.toString('hex'), withEcs.toString('hex')].sort());
  });

  it('refuses what it does not support, and getAction out of range', async () => {
    expect(proxy.app.runConsoleCommand('TeeAction("127.0.0.1", false, "127.0.0.2")')).toMatch(/local source address is not supported yet/);
    expect(proxy.app.runConsoleCommand('getAction(7)')).toMatch(/there is no rule 7/);
  });
});
