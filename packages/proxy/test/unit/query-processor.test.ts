/**
 * The query path's core without a socket: the real QueryProcessor inside a
 * DnsdistProxy that is never started (so its backend wiring, answer matching
 * and counters are the production ones), real rule chains and policies,
 * and in-memory fakes for the rest: FakeUdpEndpoint is the backend's socket
 * (it records what would have been sent; the test delivers the answers),
 * RecordingReplyChannel is the client's side, FakeQueryCache the pool's
 * packet cache, RecordingQueryRecorder the rings.
 */
import { makeProxyProtocolHeader, NetmaskGroup, parseAddress } from '@dnsdist-ts/dns';
import dnsPacket from 'dns-packet';
import type { DownstreamServer } from '@dnsdist-ts/dataplane/backend/downstream-server.js';
import { RoundRobinPolicy } from '@dnsdist-ts/dataplane/backend/policies/round-robin.js';
import { SocketAddress } from '@dnsdist-ts/dataplane/query/client-address.js';
import { QueryVerdict } from '@dnsdist-ts/dataplane/query/query-verdict.js';
import type { FrontendCounters } from '@dnsdist-ts/dataplane/server/query-processor.js';
import { DnsdistProxy } from '@dnsdist-ts/dataplane/server/dnsdist-proxy.js';
import {
  AllRule,
  DelayAction,
  DropAction,
  DropResponseAction,
  NetmaskGroupRule,
  NoRecurseAction,
  PoolAction,
  QNameRule,
  RCodeAction,
  RuleChains,
  SpoofAction,
} from '@dnsdist-ts/dataplane/rules/index.js';
import { encodeQuery, FLAG_CD, FLAG_QR, FLAG_RD, FLAG_TC, type QueryShape } from '../rules/query-fixture.js';
import {
  FakeDynBlocks,
  FakePerformanceClock,
  FakeQueryCache,
  fakeServerConfig,
  FakeUdpEndpoint,
  RecordingQueryRecorder,
  RecordingReplyChannel,
  type FakeDownstreamShape,
} from './query-path-fakes.js';

const CLIENT = new SocketAddress(parseAddress('192.0.2.1').bytes, 40000);
const LOCAL = new SocketAddress(parseAddress('127.0.0.1').bytes, 53);
const REFUSED = 5;
const SERVFAIL = 2;

interface FakeBackend {
  server: DownstreamServer;
  socket: FakeUdpEndpoint;
}

/** A proxy that is never started, its processor, and the fakes around it. */
class QueryPathUnderTest {
  readonly recorder = new RecordingQueryRecorder();
  readonly proxy = new DnsdistProxy((counters) => new RuleChains(counters), this.recorder);
  readonly frontend: FrontendCounters = { queries: 0, responses: 0, nonCompliantQueries: 0 };
  readonly reply = new RecordingReplyChannel();

  constructor() {
    this.proxy.log.sink = () => undefined;
    this.proxy.acl.addMask('192.0.2.0/24');
  }

  get counters(): DnsdistProxy['counters'] {
    return this.proxy.counters;
  }

  get rules(): RuleChains {
    return this.proxy.rules as RuleChains;
  }

  /** newServer, up, with an in-memory socket instead of a UDP one. */
  async backend(shape: FakeDownstreamShape = {}): Promise<FakeBackend> {
    const server = await this.proxy.addServer(fakeServerConfig(shape));
    server.availability = shape.up === false ? 'down' : 'up';
    const socket = new FakeUdpEndpoint();
    server.attachUdpEndpoints([socket]);
    return { server, socket };
  }

  query(shape: QueryShape = {}): void {
    this.raw(encodeQuery(shape));
  }

  raw(packet: Buffer): void {
    this.proxy.processor.handleQuery(packet, packet.length, CLIENT, LOCAL, 'udp', this.reply, this.frontend);
  }
}

/** The answer a backend gives to the datagram it got: same ID and question unless told otherwise. */
function answerTo(sent: Buffer, options: { name?: string; id?: number; rcode?: number; address?: string } = {}): Buffer {
  const q = dnsPacket.decode(sent);
  const question = q.questions![0]!;
  const name = options.name ?? question.name;
  return dnsPacket.encode({
    type: 'response',
    id: options.id ?? q.id,
    // dns-packet takes the RCODE in the flags word's low bits.
    flags: (q.flags ?? 0) | dnsPacket.RECURSION_AVAILABLE | (options.rcode ?? 0),
    questions: [{ ...question, name }],
    answers: [{ type: 'A', name, ttl: 60, data: options.address ?? '198.51.100.1' }],
  } as dnsPacket.Packet);
}

/** The backend's own address and port, where its answers come from. */
function fromBackend(b: FakeBackend): [Uint8Array, number] {
  return [b.server.config.address.bytes, b.server.config.address.port];
}

function aRecords(packet: dnsPacket.Packet): string[] {
  return (packet.answers ?? []).filter((a) => a.type === 'A').map((a) => (a as { data: string }).data);
}

describe('QueryProcessor: the ACL', () => {
  it('lets the ACL ranges through and counts acl-drops for the others, nothing else', () => {
    const t = new QueryPathUnderTest();
    expect(t.proxy.processor.aclAllows(parseAddress('192.0.2.77').bytes)).toBe(true);
    expect(t.counters.aclDrops).toBe(0);
    expect(t.proxy.processor.aclAllows(parseAddress('203.0.113.5').bytes)).toBe(false);
    expect(t.proxy.processor.aclAllows(parseAddress('2001:db8::1').bytes)).toBe(false);
    expect(t.counters.aclDrops).toBe(2);
    expect(t.counters.queries).toBe(0);
  });
});

describe('QueryProcessor: query rules decide the path', () => {
  it('DropAction: no answer, no backend query; counted in queries and rule-drop', async () => {
    const t = new QueryPathUnderTest();
    const b = await t.backend();
    t.rules.query.add(new QNameRule('drop.example'), new DropAction());
    t.query({ name: 'drop.example' });
    expect(t.reply.answers).toEqual([]);
    expect(t.reply.abandoned).toEqual([{ qname: 'drop.example', lost: false }]);
    expect(b.socket.sent).toHaveLength(0);
    expect(t.counters).toMatchObject({ queries: 1, ruleDrop: 1, responses: 0, selfAnswered: 0 });
    expect(t.frontend.queries).toBe(1);
    // The query still reaches the rings: dnsdist records it before the rules.
    expect(t.recorder.queries).toEqual(['drop.example']);
  });

  it('RCodeAction(REFUSED): answered by the proxy, never sent to a backend; rule-refused and self-answered', async () => {
    const t = new QueryPathUnderTest();
    const b = await t.backend();
    t.rules.query.add(new QNameRule('refuse.example'), new RCodeAction(REFUSED));
    t.query({ name: 'refuse.example', id: 0x4242 });
    const answer = t.reply.onlyAnswer();
    expect(answer.id).toBe(0x4242);
    expect(answer.rcode).toBe('REFUSED');
    expect(answer.questions![0]!.name).toBe('refuse.example');
    expect(b.socket.sent).toHaveLength(0);
    expect(t.counters).toMatchObject({ queries: 1, ruleRefused: 1, selfAnswered: 1, responses: 0, noPolicy: 0 });
  });

  it('SpoofAction: the spoofed address comes back, nothing goes to the backend', async () => {
    const t = new QueryPathUnderTest();
    const b = await t.backend();
    t.rules.query.add(new QNameRule('spoof.example'), new SpoofAction('192.0.2.53'));
    t.query({ name: 'spoof.example' });
    expect(aRecords(t.reply.onlyAnswer())).toEqual(['192.0.2.53']);
    expect(b.socket.sent).toHaveLength(0);
    expect(t.counters).toMatchObject({ selfAnswered: 1, frontendNoError: 1, responses: 0 });
  });

  it('PoolAction: the query goes to that pool’s server, not to the default pool', async () => {
    const t = new QueryPathUnderTest();
    const plain = await t.backend({ name: 'default-pool' });
    const other = await t.backend({ name: 'other-pool', pools: ['other'] });
    t.rules.query.add(new QNameRule('pooled.example'), new PoolAction('other'));
    t.query({ name: 'pooled.example' });
    t.query({ name: 'plain.example' });
    expect(other.socket.sent.map((d) => dnsPacket.decode(d.data).questions![0]!.name)).toEqual(['pooled.example']);
    expect(plain.socket.sent.map((d) => dnsPacket.decode(d.data).questions![0]!.name)).toEqual(['plain.example']);
  });

  it('a pool with its own policy uses it; the others use the default policy', async () => {
    const t = new QueryPathUnderTest();
    const a = await t.backend({ name: 'a', pools: ['rr'] });
    const b = await t.backend({ name: 'b', pools: ['rr'] });
    const c = await t.backend({ name: 'c', pools: ['lo'] });
    const d = await t.backend({ name: 'd', pools: ['lo'] });
    t.proxy.getPool('rr')!.policy = new RoundRobinPolicy();
    t.rules.query.add(new QNameRule('rr.example'), new PoolAction('rr'));
    t.rules.query.add(new QNameRule('lo.example'), new PoolAction('lo'));
    // a and c are busy: leastOutstanding (the default) avoids them, roundrobin does not.
    a.server.outstanding += 10;
    c.server.outstanding += 10;
    for (let i = 0; i < 4; i++) {
      t.query({ name: 'rr.example' });
      t.query({ name: 'lo.example' });
    }
    expect([a.socket.sent.length, b.socket.sent.length]).toEqual([2, 2]);
    expect([c.socket.sent.length, d.socket.sent.length]).toEqual([0, 4]);
  });

  it('a dynamic block decides before the rules run', async () => {
    const t = new QueryPathUnderTest();
    await t.backend();
    t.proxy.dynBlocks = new FakeDynBlocks({ 'blocked.example': QueryVerdict.Drop });
    t.rules.query.add(new AllRule(), new RCodeAction(REFUSED));
    t.query({ name: 'blocked.example' });
    expect(t.reply.answers).toEqual([]);
    expect(t.counters).toMatchObject({ ruleRefused: 0, selfAnswered: 0 });
    t.query({ name: 'other.example' });
    expect(t.reply.onlyAnswer().rcode).toBe('REFUSED');
  });
});

describe('QueryProcessor: no server', () => {
  it('drops the query and counts no-policy when no backend is up', async () => {
    const t = new QueryPathUnderTest();
    await t.backend({ up: false });
    t.query({ name: 'nobody.example' });
    expect(t.reply.answers).toEqual([]);
    expect(t.reply.abandoned).toEqual([{ qname: 'nobody.example', lost: false }]);
    expect(t.counters).toMatchObject({ noPolicy: 1, selfAnswered: 0 });
  });

  it('answers SERVFAIL with setServFailWhenNoServer(true), keeping the ID and the client’s RD and CD', async () => {
    const t = new QueryPathUnderTest();
    await t.backend({ up: false });
    t.proxy.settings.servFailWhenNoServer = true;
    t.query({ name: 'nobody.example', id: 0x0bad, flags: FLAG_RD | FLAG_CD });
    const answer = t.reply.onlyAnswer();
    expect(answer).toMatchObject({ id: 0x0bad, rcode: 'SERVFAIL', type: 'response' });
    expect(answer.flags! & (FLAG_RD | FLAG_CD)).toBe(FLAG_RD | FLAG_CD);
    expect(t.counters).toMatchObject({ noPolicy: 1, selfAnswered: 1, frontendServFail: 1 });
  });

  it('a pool that does not exist counts as no server', () => {
    const t = new QueryPathUnderTest();
    t.rules.query.add(new AllRule(), new PoolAction('nowhere'));
    t.query();
    expect(t.reply.answers).toEqual([]);
    expect(t.counters.noPolicy).toBe(1);
  });
});

describe('QueryProcessor: a backend’s answer', () => {
  it('is matched to its query by the backend ID and question, sent with the client’s ID, and counted', async () => {
    const t = new QueryPathUnderTest();
    const b = await t.backend({ name: 'b1' });
    t.query({ name: 'www.example', id: 0x1111 });
    t.query({ name: 'mail.example', id: 0x2222 });
    expect(b.server.outstanding).toBe(2);
    const [first, second] = b.socket.sent;
    // The backend sees IDs of its own, not the clients'.
    expect(dnsPacket.decode(first!.data).id).not.toBe(0x1111);
    // Answers in the other order: each goes to its own query.
    b.socket.deliver(answerTo(second!.data, { address: '198.51.100.2' }), ...fromBackend(b));
    b.socket.deliver(answerTo(first!.data, { address: '198.51.100.1' }), ...fromBackend(b));
    const got = t.reply.answers.map((a) => {
      const p = dnsPacket.decode(a.data);
      return [p.id, p.questions![0]!.name, aRecords(p)[0]];
    });
    expect(got).toEqual([
      [0x2222, 'mail.example', '198.51.100.2'],
      [0x1111, 'www.example', '198.51.100.1'],
    ]);
    expect(t.counters).toMatchObject({ queries: 2, responses: 2, frontendNoError: 2, latencyCount: 2, nonCompliantResponses: 0 });
    expect(b.server.counters).toMatchObject({ queries: 2, responses: 2, drops: 0 });
    expect(b.server.outstanding).toBe(0);
    expect(b.server.unexpectedAnswers).toBe(0);
    expect(t.recorder.responses).toEqual(['mail.example', 'www.example']);
  });

  it('its latency, from the query’s arrival to the answer, goes into the latency histogram and averages', async () => {
    const t = new QueryPathUnderTest();
    const b = await t.backend();
    const clock = new FakePerformanceClock();
    clock.install();
    try {
      clock.now = 50_000;
      t.query();
      clock.now = 50_007;
      b.socket.deliver(answerTo(b.socket.sent[0]!.data), ...fromBackend(b));
    } finally {
      clock.uninstall();
    }
    expect(t.counters).toMatchObject({ latency0to1: 0, latency1to10: 1, latencyCount: 1, latencySumMs: 7, latencyAvg100: 70 });
    expect(b.server.latencyUsec).toBe(7000 / 128);
  });

  it('gives the client back its RD bit when a rule cleared it for the backend (NoRecurseAction)', async () => {
    const t = new QueryPathUnderTest();
    const b = await t.backend();
    t.rules.query.add(new AllRule(), new NoRecurseAction());
    t.query({ flags: FLAG_RD });
    const sent = b.socket.sent[0]!.data;
    expect(dnsPacket.decode(sent).flags! & FLAG_RD).toBe(0);
    b.socket.deliver(answerTo(sent), ...fromBackend(b));
    expect(t.reply.onlyAnswer().flags! & FLAG_RD).toBe(FLAG_RD);
  });

  it('counts a SERVFAIL answer in servfail-responses and frontend-servfail', async () => {
    const t = new QueryPathUnderTest();
    const b = await t.backend();
    t.query();
    b.socket.deliver(answerTo(b.socket.sent[0]!.data, { rcode: SERVFAIL }), ...fromBackend(b));
    expect(t.reply.onlyAnswer().rcode).toBe('SERVFAIL');
    expect(t.counters).toMatchObject({ responses: 1, servfailResponses: 1, frontendServFail: 1, frontendNoError: 0 });
  });

  it('with the right ID but another question is not the answer: dropped, counted, and the query keeps waiting', async () => {
    const t = new QueryPathUnderTest();
    const b = await t.backend();
    t.query({ name: 'asked.example' });
    const sent = b.socket.sent[0]!.data;
    b.socket.deliver(answerTo(sent, { name: 'forged.example' }), ...fromBackend(b));
    expect(t.reply.answers).toEqual([]);
    expect(t.counters).toMatchObject({ nonCompliantResponses: 1, responses: 0 });
    expect(b.server.unexpectedAnswers).toBe(1);
    expect(b.server.outstanding).toBe(1);
    b.socket.deliver(answerTo(sent), ...fromBackend(b));
    expect(t.reply.onlyAnswer().questions![0]!.name).toBe('asked.example');
    expect(t.counters.responses).toBe(1);
  });

  it('from another address or port, or with an ID nobody waits for, is ignored and counted as unexpected', async () => {
    const t = new QueryPathUnderTest();
    const b = await t.backend();
    t.query();
    const sent = b.socket.sent[0]!.data;
    const [address, port] = fromBackend(b);
    b.socket.deliver(answerTo(sent), parseAddress('127.0.0.2').bytes, port);
    b.socket.deliver(answerTo(sent), address, port + 1);
    b.socket.deliver(answerTo(sent, { id: (dnsPacket.decode(sent).id! + 1) & 0xffff }), address, port);
    expect(t.reply.answers).toEqual([]);
    expect(b.server.unexpectedAnswers).toBe(3);
    expect(t.counters).toMatchObject({ responses: 0, nonCompliantResponses: 0 });
    expect(b.server.outstanding).toBe(1);
  });

  it('that never comes: the query times out, counted in downstream-timeouts and the backend’s drops, and the client’s side is told', async () => {
    const t = new QueryPathUnderTest();
    const b = await t.backend({ name: 'slow' });
    t.query({ name: 'late.example' });
    const sent = b.socket.sent[0]!.data;
    const timeoutMs = t.proxy.settings.udpTimeoutSeconds * 1000;
    // Not yet: the clock has not passed the timeout.
    expect(b.server.expireTimeouts(performance.now(), timeoutMs)).toBe(0);
    expect(b.server.expireTimeouts(performance.now() + timeoutMs + 1, timeoutMs)).toBe(1);
    expect(t.counters.downstreamTimeouts).toBe(1);
    expect(b.server.counters.drops).toBe(1);
    expect(b.server.outstanding).toBe(0);
    expect(t.reply.abandoned).toEqual([{ qname: 'late.example', lost: true }]);
    expect(t.recorder.timeouts).toEqual(['late.example slow']);
    // The answer arriving after the timeout finds nobody waiting: not sent, not counted as a response.
    b.socket.deliver(answerTo(sent), ...fromBackend(b));
    expect(t.reply.answers).toEqual([]);
    expect(t.counters.responses).toBe(0);
    expect(b.server.unexpectedAnswers).toBe(1);
  });
});

describe('QueryProcessor: the packet cache', () => {
  it('a miss goes to the backend and fills the cache; the same question then gets the cached answer with its own ID, without a backend', async () => {
    const t = new QueryPathUnderTest();
    const b = await t.backend();
    const cache = new FakeQueryCache();
    t.proxy.getPool('')!.cache = cache;
    t.query({ name: 'cached.example', id: 1 });
    expect(t.counters).toMatchObject({ cacheMisses: 1, cacheHits: 0 });
    b.socket.deliver(answerTo(b.socket.sent[0]!.data), ...fromBackend(b));
    expect(cache.size).toBe(1);
    t.query({ name: 'cached.example', id: 2 });
    expect(b.socket.sent).toHaveLength(1);
    expect(t.counters).toMatchObject({ cacheMisses: 1, cacheHits: 1, responses: 1, queries: 2 });
    const ids = t.reply.answers.map((a) => dnsPacket.decode(a.data).id);
    expect(ids).toEqual([1, 2]);
    expect(aRecords(dnsPacket.decode(t.reply.answers[1]!.data))).toEqual(['198.51.100.1']);
  });

  it('answers from the cache even when no backend is up (the server is chosen first, as dnsdist 1.7)', async () => {
    const t = new QueryPathUnderTest();
    const b = await t.backend();
    t.proxy.getPool('')!.cache = new FakeQueryCache();
    t.query({ name: 'cached.example' });
    b.socket.deliver(answerTo(b.socket.sent[0]!.data), ...fromBackend(b));
    b.server.availability = 'down';
    t.query({ name: 'cached.example' });
    expect(t.reply.answers).toHaveLength(2);
    expect(t.counters).toMatchObject({ cacheHits: 1, noPolicy: 0 });
  });
});

describe('QueryProcessor: response rules', () => {
  it('a response rule dropping a backend answer: the client gets nothing, the cache is not filled', async () => {
    const t = new QueryPathUnderTest();
    const b = await t.backend();
    const cache = new FakeQueryCache();
    t.proxy.getPool('')!.cache = cache;
    t.rules.response.add(new QNameRule('hidden.example'), new DropResponseAction());
    t.query({ name: 'hidden.example' });
    t.query({ name: 'shown.example' });
    for (const d of b.socket.sent) b.socket.deliver(answerTo(d.data), ...fromBackend(b));
    expect(t.reply.answers.map((a) => a.qname)).toEqual(['shown.example']);
    expect(t.reply.abandoned).toEqual([{ qname: 'hidden.example', lost: false }]);
    expect(cache.inserts).toBe(1);
  });

  it('the cache-hit chain sees cache hits only, the self-answered chain self-made answers only', async () => {
    const t = new QueryPathUnderTest();
    const b = await t.backend();
    t.proxy.getPool('')!.cache = new FakeQueryCache();
    t.rules.cacheHit.add(new AllRule(), new DropResponseAction());
    t.rules.selfAnswered.add(new QNameRule('refused.example'), new DropResponseAction());
    t.rules.query.add(new QNameRule('refused.example'), new RCodeAction(REFUSED));
    t.rules.query.add(new QNameRule('servfail.example'), new RCodeAction(SERVFAIL));
    t.query({ name: 'cached.example' });
    b.socket.deliver(answerTo(b.socket.sent[0]!.data), ...fromBackend(b));
    t.query({ name: 'cached.example' });
    t.query({ name: 'refused.example' });
    t.query({ name: 'servfail.example' });
    expect(t.reply.answers.map((a) => a.qname)).toEqual(['cached.example', 'servfail.example']);
    expect(t.reply.abandoned.map((a) => a.qname)).toEqual(['cached.example', 'refused.example']);
    expect(t.counters.cacheHits).toBe(1);
  });
});

describe('QueryProcessor: header checks before the rules', () => {
  it('a query shorter than a header: counted in noncompliant-queries only, dropped', async () => {
    const t = new QueryPathUnderTest();
    const b = await t.backend();
    t.raw(Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00]));
    expect(t.counters).toMatchObject({ queries: 0, nonCompliantQueries: 1 });
    expect(t.frontend).toMatchObject({ queries: 0, nonCompliantQueries: 1 });
    expect(t.reply.answers).toEqual([]);
    expect(t.reply.abandoned).toHaveLength(1);
    expect(b.socket.sent).toHaveLength(0);
  });

  it('a "query" with QR set: counted in queries and noncompliant-queries, dropped before the rings and the rules', async () => {
    const t = new QueryPathUnderTest();
    const b = await t.backend();
    t.rules.query.add(new AllRule(), new RCodeAction(REFUSED));
    const packet = encodeQuery({ name: 'qr.example' });
    // dns-packet clears QR in a query: set it by hand.
    packet[2] = packet[2]! | (FLAG_QR >> 8);
    t.raw(packet);
    expect(t.counters).toMatchObject({ queries: 1, nonCompliantQueries: 1, ruleRefused: 0 });
    expect(t.recorder.queries).toEqual([]);
    expect(t.reply.answers).toEqual([]);
    expect(b.socket.sent).toHaveLength(0);
  });

  it('a query without a question: NOTIMP at once, counted in empty-queries; dropped with setDropEmptyQueries(true)', async () => {
    const t = new QueryPathUnderTest();
    const b = await t.backend();
    t.rules.query.add(new AllRule(), new DropAction());
    const empty = Buffer.from([0xab, 0xcd, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]);
    t.raw(empty);
    const answer = t.reply.answers[0]!.data;
    expect([...answer]).toEqual([0xab, 0xcd, 0x81, 0x04, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(t.counters).toMatchObject({ queries: 1, emptyQueries: 1, rdQueries: 1, ruleDrop: 0, selfAnswered: 0 });
    t.proxy.settings.dropEmptyQueries = true;
    t.raw(empty);
    expect(t.reply.answers).toHaveLength(1);
    expect(t.counters.emptyQueries).toBe(2);
    expect(b.socket.sent).toHaveLength(0);
  });
});

describe('QueryProcessor: what the backend sees and the client does not', () => {
  it('useClientSubnet: the backend gets the client’s /24 as ECS, the client gets the answer without the OPT record it did not send', async () => {
    const t = new QueryPathUnderTest();
    const b = await t.backend();
    b.server.config.useClientSubnet = true;
    t.query({ name: 'ecs.example' });
    const sent = dnsPacket.decode(b.socket.sent[0]!.data);
    const opt = sent.additionals!.find((r) => r.type === 'OPT') as dnsPacket.OptAnswer | undefined;
    expect(opt?.options).toEqual([expect.objectContaining({ code: 8, family: 1, sourcePrefixLength: 24, ip: '192.0.2.0' })]);
    // The backend echoes the option, scope /24.
    const answer = dnsPacket.encode({
      type: 'response',
      id: sent.id,
      flags: (sent.flags ?? 0) | dnsPacket.RECURSION_AVAILABLE,
      questions: sent.questions,
      answers: [{ type: 'A', name: 'ecs.example', ttl: 60, data: '198.51.100.9' }],
      additionals: [{ ...opt!, options: [{ code: 8, family: 1, sourcePrefixLength: 24, scopePrefixLength: 24, ip: '192.0.2.0' }] }],
    } as dnsPacket.Packet);
    b.socket.deliver(answer, ...fromBackend(b));
    // Byte for byte the backend's answer without the OPT record, with the client's ID.
    const expected = dnsPacket.encode({
      type: 'response',
      id: 0x1234,
      flags: (sent.flags ?? 0) | dnsPacket.RECURSION_AVAILABLE,
      questions: sent.questions,
      answers: [{ type: 'A', name: 'ecs.example', ttl: 60, data: '198.51.100.9' }],
    });
    expect(t.reply.answers.map((a) => a.data.toString('hex'))).toEqual([expected.toString('hex')]);
  });

  it('truncateTC: a TC=1 answer over UDP reaches the client as header and question only', async () => {
    const t = new QueryPathUnderTest();
    const b = await t.backend();
    const truncated = (sent: Buffer): Buffer => {
      const a = answerTo(sent);
      a[2] = a[2]! | (FLAG_TC >> 8);
      return a;
    };
    t.query({ name: 'big.example' });
    b.socket.deliver(truncated(b.socket.sent[0]!.data), ...fromBackend(b));
    expect(aRecords(t.reply.answers.map((a) => dnsPacket.decode(a.data))[0]!)).toEqual(['198.51.100.1']);
    t.proxy.settings.truncateTC = true;
    t.query({ name: 'big.example' });
    b.socket.deliver(truncated(b.socket.sent[1]!.data), ...fromBackend(b));
    const stripped = dnsPacket.decode(t.reply.answers[1]!.data);
    expect(stripped.flags! & FLAG_TC).toBe(FLAG_TC);
    expect(stripped.questions![0]!.name).toBe('big.example');
    expect(stripped.answers).toEqual([]);
  });
});

describe('QueryProcessor: DelayAction', () => {
  it('holds a UDP answer back, intact although the receive buffer it came in was reused meanwhile', async () => {
    const t = new QueryPathUnderTest();
    const b = await t.backend();
    t.rules.query.add(new QNameRule('slow.example'), new DelayAction(20));
    t.query({ name: 'slow.example', id: 0x5151 });
    t.query({ name: 'fast.example', id: 0x5252 });
    const [slow, fast] = b.socket.sent;
    b.socket.deliver(answerTo(slow!.data, { address: '198.51.100.51' }), ...fromBackend(b));
    b.socket.deliver(answerTo(fast!.data, { address: '198.51.100.52' }), ...fromBackend(b));
    // The undelayed answer went at once; the delayed one is not there yet.
    expect(t.reply.answers.map((a) => a.qname)).toEqual(['fast.example']);
    await t.reply.nextAnswer();
    const delayed = dnsPacket.decode(t.reply.answers[1]!.data);
    expect([delayed.id, delayed.questions![0]!.name, aRecords(delayed)]).toEqual([0x5151, 'slow.example', ['198.51.100.51']]);
    expect(t.counters.responses).toBe(2);
  });
});

describe('QueryProcessor: incoming proxy protocol', () => {
  const PROXIED_CLIENT = '203.0.113.9';

  function proxied(query: Buffer, source = PROXIED_CLIENT): Buffer {
    const header = makeProxyProtocolHeader(false, parseAddress(source).bytes, 1234, parseAddress('127.0.0.1').bytes, 53);
    return Buffer.concat([header, query]);
  }

  function setUp(): QueryPathUnderTest {
    const t = new QueryPathUnderTest();
    t.proxy.incomingProxyProtocol.acl.addMask('192.0.2.0/24');
    // Answers REFUSED to the proxied client only: proves which address the rules saw.
    t.rules.query.add(new NetmaskGroupRule(new NetmaskGroup().addMask(`${PROXIED_CLIENT}/32`)), new RCodeAction(REFUSED));
    return t;
  }

  function receive(t: QueryPathUnderTest, datagram: Buffer): void {
    expect(t.proxy.processor.expectsProxyHeader(CLIENT.bytes)).toBe(true);
    t.proxy.processor.handleProxiedDatagram(datagram, datagram.length, CLIENT, LOCAL, t.reply, t.frontend);
  }

  it('a query behind a valid header is handled as coming from the client the header names', () => {
    const t = setUp();
    receive(t, proxied(encodeQuery({ name: 'behind.example' })));
    expect(t.reply.onlyAnswer().rcode).toBe('REFUSED');
    expect(t.counters).toMatchObject({ queries: 1, proxyProtocolInvalid: 0 });
  });

  it('a datagram without a valid header is counted in proxy-protocol-invalid and goes no further', () => {
    const t = setUp();
    receive(t, encodeQuery({ name: 'bare.example' }));
    expect(t.reply.answers).toEqual([]);
    expect(t.counters).toMatchObject({ queries: 0, proxyProtocolInvalid: 1 });
  });

  it('with setProxyProtocolApplyACLToProxiedClients(true), a named client outside setACL counts in acl-drops', () => {
    const t = setUp();
    t.proxy.incomingProxyProtocol.applyACLToProxiedClients = true;
    receive(t, proxied(encodeQuery({ name: 'outside.example' })));
    expect(t.reply.answers).toEqual([]);
    expect(t.counters).toMatchObject({ queries: 0, aclDrops: 1 });
  });
});

describe('DnsdistProxy.tick: the once-a-second housekeeping of the query path', () => {
  it('times out UDP queries older than setUDPTimeout, and meters each backend’s queries per second', async () => {
    const t = new QueryPathUnderTest();
    const b = await t.backend({ name: 'b1' });
    const clock = new FakePerformanceClock();
    clock.install();
    try {
      clock.now = 10_000;
      t.proxy.tick();
      t.query({ name: 'one.example' });
      t.query({ name: 'two.example' });
      clock.now = 11_000;
      t.proxy.tick();
      expect(b.server.queryLoad).toBe(2);
      // 1.5 s old: within the default 2 s, past a setUDPTimeout(1).
      clock.now = 11_500;
      t.proxy.tick();
      expect(t.counters.downstreamTimeouts).toBe(0);
      t.proxy.settings.udpTimeoutSeconds = 1;
      t.proxy.tick();
    } finally {
      clock.uninstall();
    }
    expect(t.counters.downstreamTimeouts).toBe(2);
    expect(t.reply.abandoned).toEqual([
      { qname: 'one.example', lost: true },
      { qname: 'two.example', lost: true },
    ]);
    expect(b.server.outstanding).toBe(0);
  });
});
