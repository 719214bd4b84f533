/**
 * Counters under malformed queries, dnsdist 1.7.3 and dnsdist-ts side by
 * side: datagrams shorter than a header, questions that cannot be parsed,
 * QDCOUNT=0, responses sent as queries, over UDP and TCP. Each case is sent
 * to both, and what it moved in /jsonstat (and the frontends' own counts)
 * must be the same, as must the answers; the deliberate differences are in
 * KNOWN_DIFFERENCES and docs/observability.md.
 *
 * With data-plane workers (DNSDIST_TS_TEST_WORKERS=2) each worker reads its
 * own SO_REUSEPORT socket: only datagrams of one source address and port are
 * sure to be read in order, and the per-listener counts reach the control
 * plane's sum a sync or two later, so our side's reads wait for the sum.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import { describeDnsdist } from '../../../../test/support/dnsdist.js';
import type { DemoServer } from '../../src/demo/demo-authoritative-server.js';
import { freePort, startDnsdist, type RunningDnsdist } from '../console/dnsdist-process.js';
import { encodeQuery } from '../support/dns-client.js';
import { startDemo } from '../support/proxy-harness.js';
import { perWorker } from '../support/worker-traffic.js';
import { httpRequest } from '../web/http-client.js';
import { startWebProxy, type RunningWebProxy } from '../web/web-harness.js';

/** Only 127.0.0.1 may query: 127.0.0.2 is the refused client. */
const CONFIG = `
setACL({"127.0.0.1/32"})
webserver("127.0.0.1:\${WEB}")
setWebserverConfig({apiKey="k"})
newServer{address="127.0.0.1:\${BACKEND}", checkName="example.test."}
getServer(0):setUp()
`;
const KEY = { apiKey: 'k' };

/** The counters compared: every traffic counter a malformed query could move. */
const COUNTERS = [
  'queries',
  'rdqueries',
  'responses',
  'noncompliant-queries',
  'empty-queries',
  'self-answered',
  'acl-drops',
  'frontend-noerror',
  'frontend-nxdomain',
  'frontend-servfail',
  'no-policy',
  'rule-drop',
  'cache-hits',
  'cache-misses',
  'downstream-timeouts',
];

const KNOWN_DIFFERENCES = {
  /**
   * A TCP query shorter than a header: 1.7.3 closes the connection and counts
   * nothing; later dnsdist (and we) count it in noncompliant-queries, as over UDP.
   */
  tcpTooShort: { 'noncompliant-queries': 1 },
};

function header(flags: number, qdcount: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(0x1234, 0);
  b.writeUInt16BE(flags, 2);
  b.writeUInt16BE(qdcount, 4);
  return b;
}
const RD = 0x0100;
const QR = 0x8000;

const TOO_SHORT: Record<string, Buffer> = {
  'an empty message': Buffer.alloc(0),
  '5 bytes': Buffer.from([1, 2, 3, 4, 5]),
  '11 bytes': Buffer.alloc(11, 1),
};
const MALFORMED: Record<string, Buffer> = {
  'a header announcing a question that is not there': header(RD, 1),
  'a name with a reserved label type': Buffer.concat([header(RD, 1), Buffer.from([0x40, 0x61, 0, 0, 1, 0, 1])]),
  'a name that points at itself': Buffer.concat([header(RD, 1), Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])]),
  'a name without type and class': Buffer.concat([header(RD, 1), Buffer.from([3, 0x77, 0x77, 0x77, 0])]),
  'QDCOUNT=0 with RD': header(RD, 0),
  'QDCOUNT=0 without RD': header(0, 0),
  'a response (QR=1)': Buffer.concat([header(QR | RD, 1), Buffer.from([3, 0x77, 0x77, 0x77, 0, 0, 1, 0, 1])]),
};

interface Side {
  name: string;
  dns: number;
  web: number;
}

interface Counts {
  stats: Record<string, number>;
  /** The UDP and TCP frontends' own query and noncompliant counts (API `frontends`). */
  frontends: Record<string, number>;
}

async function counts(side: Side): Promise<Counts> {
  for (let attempt = 0; ; attempt++) {
    try {
      const stats = JSON.parse((await httpRequest(side.web, '/jsonstat?command=stats', KEY)).body) as Record<string, number>;
      const api = JSON.parse((await httpRequest(side.web, '/api/v1/servers/localhost', KEY)).body) as {
        frontends: Array<{ type: string; queries: number }>;
      };
      return { stats, frontends: Object.fromEntries(api.frontends.map((f) => [`${f.type} queries`, f.queries])) };
    } catch (err) {
      // dnsdist starts its webserver thread last: connection attempts are the readiness signal.
      if ((err as NodeJS.ErrnoException).code !== 'ECONNREFUSED' || attempt >= 100) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** What one exchange moved: the compared counters that changed. */
function moved(before: Counts, after: Counts): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of COUNTERS) if (after.stats[k] !== before.stats[k]) out[k] = after.stats[k]! - before.stats[k]!;
  for (const k of Object.keys(after.frontends)) {
    if (after.frontends[k] !== before.frontends[k]) out[`frontend ${k}`] = after.frontends[k]! - before.frontends[k]!;
  }
  return out;
}

const SYNC_ID = 0xbeef;

/**
 * Send `payload` from `from`, then a valid query; resolves with whatever
 * answered `payload` once the valid query's answer is back. From 127.0.0.1
 * the valid query leaves from the same socket: the kernel gives datagrams
 * of one address and port to one listening socket (one worker's, with
 * SO_REUSEPORT) and it reads them in order, so by then `payload` is handled.
 * From a refused client the valid query leaves from 127.0.0.1 (it would be
 * dropped), which orders nothing across workers: that case expects no
 * answer, and the counters it moves are waited for (`settled`). The valid
 * query moves queries, rdqueries, responses, frontend-noerror and a
 * cache-less forward on both sides alike.
 */
async function udpExchange(port: number, payload: Buffer, from: string): Promise<string[]> {
  const open = async (address: string) => {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => s.bind(0, address, () => resolve()));
    return s;
  };
  const odd = await open(from);
  const sync = from === '127.0.0.1' ? odd : await open('127.0.0.1');
  const answers: string[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer to the valid query that follows the malformed one')), 3000);
      sync.on('message', (m) => {
        if (m.readUInt16BE(0) !== SYNC_ID) return;
        clearTimeout(timer);
        resolve();
      });
      odd.on('message', (m) => {
        if (m.length < 2 || m.readUInt16BE(0) !== SYNC_ID) answers.push(m.toString('hex'));
      });
      odd.send(payload, port, '127.0.0.1', () => sync.send(encodeQuery('www.example.test', { id: SYNC_ID }), port, '127.0.0.1'));
    });
  } finally {
    odd.close();
    if (sync !== odd) sync.close();
  }
  return answers;
}

/** Send `payload` framed on a new TCP connection; resolves with the answer, or "closed" once the server closes it. */
function tcpExchange(port: number, payload: Buffer): Promise<string> {
  const frame = Buffer.alloc(payload.length + 2);
  frame.writeUInt16BE(payload.length, 0);
  payload.copy(frame, 2);
  return new Promise((resolve, reject) => {
    const c = net.connect({ host: '127.0.0.1', port });
    let data = Buffer.alloc(0);
    const timer = setTimeout(() => {
      c.destroy();
      reject(new Error('the server neither answered nor closed the connection'));
    }, 3000);
    c.on('data', (d: Buffer) => {
      data = Buffer.concat([data, d]);
      if (data.length < 2 || data.length < 2 + data.readUInt16BE(0)) return;
      clearTimeout(timer);
      c.destroy();
      resolve(data.subarray(2).toString('hex'));
    });
    c.on('error', () => {});
    c.on('close', () => {
      clearTimeout(timer);
      resolve('closed');
    });
    c.write(frame);
  });
}

describeDnsdist('counters under malformed queries against dnsdist 1.7.3', () => {
  let demo: DemoServer;
  let dnsdist: RunningDnsdist;
  let ours: RunningWebProxy;
  const theirs = {} as Side;
  const mine = {} as Side;

  beforeAll(async () => {
    demo = await startDemo();
    Object.assign(theirs, { name: 'dnsdist', dns: await freePort(), web: await freePort() });
    const consolePort = await freePort();
    const fill = (vars: Record<string, number>) => Object.entries(vars).reduce((t, [k, v]) => t.replaceAll(`\${${k}}`, String(v)), CONFIG);
    dnsdist = await startDnsdist(
      `setSecurityPollSuffix("")\ncontrolSocket("127.0.0.1:${consolePort}")\nsetLocal("127.0.0.1:${theirs.dns}")\n` +
        fill({ WEB: theirs.web, BACKEND: demo.port }),
      consolePort,
    );
    ours = await startWebProxy(CONFIG, { WEB: 0, BACKEND: demo.port });
    Object.assign(mine, { name: 'dnsdist-ts', dns: ours.port, web: ours.web });
  });

  afterAll(async () => {
    await ours?.stop();
    await dnsdist?.stop();
    await demo?.close();
  });

  /**
   * Our counts once what `before` → now moved is `expected` (or 3 s went
   * by: then what moved, for the assertion to show). With one worker the
   * first read is final; with workers the per-listener counts reach the sum
   * a little later, and no event says when.
   */
  async function settled(side: Side, before: Counts, expected: Record<string, number>): Promise<Record<string, number>> {
    const deadline = Date.now() + 3000;
    for (;;) {
      const now = moved(before, await counts(side));
      if (isDeepStrictEqual(now, expected) || Date.now() > deadline) return now;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /**
   * What dnsdist's counters moved once two reads 50 ms apart agree: dnsdist
   * counts an answer's frontend rcode after sending it, so a read right
   * after the answer arrived can miss it.
   */
  async function steady(side: Side, before: Counts): Promise<Record<string, number>> {
    let last = moved(before, await counts(side));
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const now = moved(before, await counts(side));
      if (isDeepStrictEqual(now, last)) return now;
      last = now;
    }
    return last;
  }

  /** The exchange with dnsdist, then with us; ours is read once it moved what `ourExpected` says (by default, what dnsdist's did). */
  async function both<T>(
    exchange: (side: Side) => Promise<T>,
    ourExpected: (theirs: Record<string, number>) => Record<string, number> = (theirs) => theirs,
  ): Promise<Array<{ moved: Record<string, number>; got: T }>> {
    let before = await counts(theirs);
    let got = await exchange(theirs);
    const a = { moved: await steady(theirs, before), got };
    before = await counts(mine);
    got = await exchange(mine);
    return [a, { moved: await settled(mine, before, ourExpected(a.moved)), got }];
  }

  it.each(Object.entries({ ...TOO_SHORT, ...MALFORMED }))(
    'UDP: %s moves the same counters and gets the same answer',
    async (_, payload) => {
      const [a, b] = await both((side) => udpExchange(side.dns, payload, '127.0.0.1'));
      expect(b).toEqual(a);
    },
  );

  it('UDP: a short datagram from a client the ACL refuses is noncompliant, not an ACL drop; a QDCOUNT=0 one is an ACL drop', async () => {
    for (const payload of [TOO_SHORT['5 bytes']!, MALFORMED['QDCOUNT=0 with RD']!]) {
      const [a, b] = await both((side) => udpExchange(side.dns, payload, '127.0.0.2'));
      expect(b).toEqual(a);
    }
  });

  it('UDP: every malformed query gets the same answer from every source port, on every worker (with workers, both took part)', async () => {
    const ports = 12;
    const payloads = Object.entries({ ...TOO_SHORT, ...MALFORMED });
    const before = ours.app.workers ? perWorker(ours) : [];
    const listenerBefore = (await counts(mine)).frontends['UDP queries']!;
    for (const [what, payload] of payloads) {
      const reference = (await udpExchange(theirs.dns, payload, '127.0.0.1')).join(',');
      const got = await Promise.all(Array.from({ length: ports }, () => udpExchange(mine.dns, payload, '127.0.0.1')));
      expect({ what, answers: [...new Set(got.map((a) => a.join(',')))] }).toEqual({ what, answers: [reference] });
    }
    if (ours.app.workers) {
      const after = perWorker(ours);
      expect(after.map((n, i) => n > before[i]!)).toEqual(after.map(() => true));
    }
    // The next tests compare listener counts around one exchange: wait until these datagrams are in
    // the listener's sum (each marker, and each malformed query with a whole header, as dnsdist counts).
    const sent = ports * (payloads.length + Object.keys(MALFORMED).length);
    const deadline = Date.now() + 3000;
    while ((await counts(mine)).frontends['UDP queries']! - listenerBefore < sent && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect((await counts(mine)).frontends['UDP queries']! - listenerBefore).toBe(sent);
  });

  it.each(Object.entries(MALFORMED))('TCP: %s moves the same counters and gets the same answer (or close)', async (_, payload) => {
    const [a, b] = await both((side) => tcpExchange(side.dns, payload));
    expect(b).toEqual(a);
  });

  it.each(Object.entries(TOO_SHORT))(
    'TCP: %s closes the connection; counted as noncompliant here, nowhere in 1.7.3',
    async (_, payload) => {
      const [a, b] = await both(
        (side) => tcpExchange(side.dns, payload),
        () => KNOWN_DIFFERENCES.tcpTooShort,
      );
      expect(a).toEqual({ moved: {}, got: 'closed' });
      expect(b).toEqual({ moved: KNOWN_DIFFERENCES.tcpTooShort, got: 'closed' });
    },
  );
});
