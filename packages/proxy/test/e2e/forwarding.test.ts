import dgram from 'node:dgram';
import * as dnsPacket from 'dns-packet';
import type { DemoServer } from '../../src/demo/demo-authoritative-server.js';
import { encodeQuery, tcpQueries, tcpQuery, udpExchange, udpQuery, waitFor } from '../support/dns-client.js';
import { startDemo, startProxy, type RunningProxy } from '../support/proxy-harness.js';

describe('forwarding to a backend', () => {
  let demo: DemoServer;
  let proxy: RunningProxy;

  beforeAll(async () => {
    demo = await startDemo();
    proxy = await startProxy(
      `setLocal("127.0.0.1:\${PORT}")
       newServer{address="127.0.0.1:\${DEMO}", name="demo", checkName="example.test."}`,
      { DEMO: demo.port },
    );
  });
  afterAll(async () => {
    await proxy?.stop();
    await demo?.close();
  });

  it('answers over UDP with the client query ID restored', async () => {
    const a = await udpQuery(proxy.port, 'www.example.test', { id: 4242 });
    expect(a?.id).toBe(4242);
    expect(a?.answers?.map((r) => r.data)).toEqual(['192.0.2.10']);
  });

  it('answers over TCP, several pipelined queries on one connection', async () => {
    const answers = await tcpQueries(proxy.port, [
      encodeQuery('www.example.test', { id: 1 }),
      encodeQuery('mail.example.test', { id: 2 }),
      encodeQuery('nope.example.test', { id: 3 }),
    ]);
    const byId = new Map(answers.map((a) => [a.id, a]));
    expect(byId.get(1)?.answers?.[0]?.data).toBe('192.0.2.10');
    expect(byId.get(2)?.answers?.[0]?.data).toBe('192.0.2.25');
    expect(byId.get(3)?.rcode).toBe('NXDOMAIN');
  });

  it('keeps concurrent clients using the same query ID apart', async () => {
    const [a, b] = await Promise.all([
      udpQuery(proxy.port, 'www.example.test', { id: 7 }),
      udpQuery(proxy.port, 'mail.example.test', { id: 7 }),
    ]);
    expect(a?.answers?.[0]?.data).toBe('192.0.2.10');
    expect(b?.answers?.[0]?.data).toBe('192.0.2.25');
  });

  it('counts queries, responses and rcodes under dnsdist names', async () => {
    const c = proxy.app.proxy.counters;
    const before = { q: c.queries, r: c.responses, nx: c.frontendNXDomain, rd: c.rdQueries };
    await udpQuery(proxy.port, 'missing.example.test');
    await udpQuery(proxy.port, 'www.example.test', { rd: false });
    expect(c.queries - before.q).toBe(2);
    expect(c.responses - before.r).toBe(2);
    expect(c.frontendNXDomain - before.nx).toBe(1);
    expect(c.rdQueries - before.rd).toBe(1);
    const out = proxy.app.runConsoleCommand('dumpStats()');
    expect(out).toMatch(/^acl-drops {26}\t {10}\d+ {4}noncompliant-responses/m);
  });

  it('drops responses (QR set) sent to it as non-compliant queries', async () => {
    const before = proxy.app.proxy.counters.nonCompliantQueries;
    const resp = dnsPacket.encode({
      type: 'response',
      id: 1,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type: 'A', name: 'x.test', class: 'IN' }],
    });
    const s = dgram.createSocket('udp4');
    s.send(resp, proxy.port, '127.0.0.1');
    await waitFor('noncompliant-queries', () => proxy.app.proxy.counters.nonCompliantQueries === before + 1);
    s.close();
  });

  it('answers NOTIMP to a query without a question', async () => {
    const raw = Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]);
    const answer = await udpExchange(proxy.port, raw);
    expect(answer).toBeDefined();
    expect(answer![3]! & 0x0f).toBe(4);
    expect(answer![2]! & 0x80).toBe(0x80);
  });

  it('shows the backend in showServers() with its query count', () => {
    const out = proxy.app.runConsoleCommand('showServers()');
    expect(out.split('\n')[0]).toBe(
      '#   Name                 Address                       State     Qps    Qlim Ord Wt    Queries   Drops Drate   Lat Outstanding Pools',
    );
    expect(out).toMatch(new RegExp(`^0   demo                 127\\.0\\.0\\.1:${demo.port}\\s+up\\s`, 'm'));
  });

  it('serves TCP for names the backend answers with a CNAME', async () => {
    const a = await tcpQuery(proxy.port, 'web.example.test');
    expect(a.answers?.[0]?.type).toBe('CNAME');
  });
});
