/**
 * A backend's UDP side (DownstreamServer) with an in-memory socket and a
 * hand-moved clock: the 65,536-slot ID table, timeouts, slot reuse,
 * latency, send errors. The query path around it is left out: its answer
 * and loss handlers only record.
 */
import type { DownstreamServer } from '@dnsdist-ts/dataplane/backend/downstream-server.js';
import type { DNSQuestion } from '@dnsdist-ts/dataplane/query/dns-question.js';
import { makeQuery } from '../rules/query-fixture.js';
import dnsPacket from 'dns-packet';
import { fakeDownstream, FakePerformanceClock, FakeUdpEndpoint, RecordingReplyChannel, nameOf } from './query-path-fakes.js';

interface Harness {
  server: DownstreamServer;
  socket: FakeUdpEndpoint;
  reply: RecordingReplyChannel;
  answered: Array<{ qname: string; latencyUsec: number; id: number }>;
  lost: string[];
}

function harness(): Harness {
  const answered: Harness['answered'] = [];
  const lost: string[] = [];
  const server = fakeDownstream(
    { name: 'b' },
    {
      onAnswer: (_s, dq, _reply, _key, latencyUsec, data) =>
        answered.push({ qname: nameOf(dq), latencyUsec, id: (data[0]! << 8) | data[1]! }),
      onLost: (_s, dq) => lost.push(nameOf(dq)),
    },
  );
  const socket = new FakeUdpEndpoint();
  server.attachUdpEndpoints([socket]);
  return { server, socket, reply: new RecordingReplyChannel(), answered, lost };
}

/** The backend's answer to the i-th datagram it got. */
function answer(h: Harness, i: number): void {
  const q = dnsPacket.decode(h.socket.sent[i]!.data);
  const a = dnsPacket.encode({ type: 'response', id: q.id, flags: dnsPacket.RECURSION_DESIRED, questions: q.questions });
  h.socket.deliver(a, h.server.config.address.bytes, h.server.config.address.port);
}

const clock = new FakePerformanceClock();
beforeEach(() => clock.install());
afterEach(() => clock.uninstall());

describe('DownstreamServer over UDP', () => {
  it('gives each query the next backend ID and restores the client’s ID in its answer', () => {
    const h = harness();
    h.server.sendUdp(makeQuery({ name: 'a.example', id: 0xaaaa }), h.reply, 0);
    h.server.sendUdp(makeQuery({ name: 'b.example', id: 0xaaaa }), h.reply, 0);
    expect(h.socket.sent.map((d) => dnsPacket.decode(d.data).id)).toEqual([0, 1]);
    answer(h, 1);
    answer(h, 0);
    expect(h.answered.map((a) => [a.qname, a.id])).toEqual([
      ['b.example', 0xaaaa],
      ['a.example', 0xaaaa],
    ]);
    expect(h.server.counters).toMatchObject({ queries: 2, responses: 2, drops: 0 });
  });

  it('times out only the queries older than the timeout, each once, oldest first', () => {
    const h = harness();
    clock.now = 1_000;
    h.server.sendUdp(makeQuery({ name: 'q1.example' }), h.reply, 0);
    clock.now = 1_500;
    h.server.sendUdp(makeQuery({ name: 'q2.example' }), h.reply, 0);
    clock.now = 2_500;
    h.server.sendUdp(makeQuery({ name: 'q3.example' }), h.reply, 0);
    expect(h.server.expireTimeouts(3_000, 2_000)).toBe(0);
    expect(h.server.expireTimeouts(3_100, 2_000)).toBe(1);
    expect(h.lost).toEqual(['q1.example']);
    answer(h, 1);
    expect(h.server.expireTimeouts(4_600, 2_000)).toBe(1);
    expect(h.lost).toEqual(['q1.example', 'q3.example']);
    expect(h.server.expireTimeouts(100_000, 2_000)).toBe(0);
    expect(h.server.counters).toMatchObject({ queries: 3, responses: 1, drops: 2 });
    expect(h.server.outstanding).toBe(0);
  });

  it('measures the latency from send to answer: handed to the handler, and the backend’s moving average (127/128)', () => {
    const h = harness();
    clock.now = 10_000;
    h.server.sendUdp(makeQuery(), h.reply, 0);
    clock.now = 10_012.5;
    answer(h, 0);
    expect(h.answered[0]!.latencyUsec).toBe(12_500);
    expect(h.server.latencyUsec).toBe(12_500 / 128);
  });

  it('when all 65,536 IDs are in use, the oldest query loses its slot: counted as reused and dropped', () => {
    const h = harness();
    const dq: DNSQuestion = makeQuery({ name: 'many.example' });
    for (let i = 0; i < 65_536; i++) h.server.sendUdp(dq, h.reply, 0);
    expect(h.server.outstanding).toBe(65_536);
    expect(h.lost).toEqual([]);
    h.server.sendUdp(makeQuery({ name: 'one-more.example' }), h.reply, 0);
    expect(h.lost).toEqual(['many.example']);
    expect(h.server.counters).toMatchObject({ reuseds: 1, drops: 1, queries: 65_537 });
    expect(h.server.outstanding).toBe(65_536);
    // Slot 0 now belongs to the newest query: its answer goes to it.
    answer(h, 65_536);
    expect(h.answered.map((a) => a.qname)).toEqual(['one-more.example']);
  });

  it('counts a failed send, and a query it cannot send (no socket) as a send error and lost', () => {
    const h = harness();
    h.socket.failSends = true;
    h.server.sendUdp(makeQuery({ name: 'unsent.example' }), h.reply, 0);
    expect(h.server.counters.sendErrors).toBe(1);
    const orphan = fakeDownstream({}, { onLost: (_s, dq) => h.lost.push(nameOf(dq)) });
    orphan.sendUdp(makeQuery({ name: 'nowhere.example' }), h.reply, 0);
    expect(orphan.counters).toMatchObject({ sendErrors: 1, queries: 0 });
    expect(h.lost).toEqual(['nowhere.example']);
  });
});
