/**
 * carbonServer(): a real Carbon (Graphite plaintext) sender. A TCP listener
 * in the test plays the Carbon server and receives `path value timestamp`
 * lines on a timer; compared with what Debian's dnsdist 1.7.3 sends for the
 * same configuration (same paths, same values for everything that is not
 * about the process itself).
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { hostname } from 'node:os';
import tls from 'node:tls';
import { describeDnsdist, spawnDnsdist } from '../../../../test/support/dnsdist.js';
import { encodeQuery, udpQuery } from '../support/dns-client.js';
import { kdigHttps, makeCertificate } from '../support/doh-clients.js';
import { freePort, loadConfigurationOutput, startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { oneWorker, type OneWorkerReason } from '../support/test-workers.js';

/** A Carbon server: each connection's bytes, delivered when the sender closes it. */
async function carbonListener() {
  const exports: string[] = [];
  const waiting: Array<() => void> = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.on('end', () => {
      exports.push(text);
      for (const w of waiting.splice(0)) w();
      socket.end();
    });
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    exports,
    /** Resolves once `n` exports have arrived. */
    async next(n: number): Promise<string> {
      while (exports.length < n) await new Promise<void>((r) => waiting.push(r));
      return exports[n - 1]!;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** path → value of one export; checks every line is `path value timestamp\r\n`. */
function parseExport(text: string): Map<string, string> {
  expect(text.endsWith('\r\n')).toBe(true);
  const out = new Map<string, string>();
  for (const line of text.slice(0, -2).split('\r\n')) {
    const parts = line.split(' ');
    expect(parts).toHaveLength(3);
    expect(parts[2]).toMatch(/^\d+$/);
    out.set(parts[0]!, parts[1]!);
  }
  return out;
}

/** One query over DoT to 127.0.0.1:`port`, the server checked against `ca` as doh.test; resolves with the answer's length. */
function dotQuery(port: number, ca: string, name: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const q = encodeQuery(name);
    const socket = tls.connect({ host: '127.0.0.1', port, ca: readFileSync(ca), servername: 'doh.test' }, () => {
      socket.write(Buffer.concat([Buffer.from([q.length >> 8, q.length & 0xff]), q]));
    });
    let buf = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        socket.end();
        resolve(buf.readUInt16BE(0));
      }
    });
    socket.on('error', reject);
  });
}

/** Frontend paths with each listener's port replaced by its rank (P0, P1…), for two processes listening on different ports. */
function byListenerRank(m: Map<string, string>): Map<string, string> {
  const ranks = new Map<string, number>();
  return new Map(
    [...m].map(([k, v]) => [
      k.replace(/127_0_0_1:(\d+)_(udp|tcp)/, (_, port: string, proto: string) => {
        if (!ranks.has(port)) ranks.set(port, ranks.size);
        return `127_0_0_1:P${ranks.get(port)}_${proto}`;
      }),
      v,
    ]),
  );
}

/** Process-level figures: they differ between two processes by nature. */
const PROCESS_FIGURE = /\.(real-memory-usage|special-memory-usage|fd-usage|cpu-[a-z-]+|udp6?-[a-z-]+|tcp-listen-overflows|uptime)$/;

describe('carbonServer', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
  });

  async function start(config: string, vars: Record<string, number>, oneWorkerFor?: OneWorkerReason): Promise<RunningProxy> {
    const proxy = await startProxy(config, vars, oneWorkerFor ? oneWorker(oneWorkerFor) : {});
    cleanups.push(() => proxy.stop());
    return proxy;
  }

  it('sends every interval to each server, under namespace.ourname.instance, counting what a query did', async () => {
    const c1 = await carbonListener();
    const c2 = await carbonListener();
    cleanups.push(
      () => c1.close(),
      () => c2.close(),
    );
    const proxy = await start(
      `setLocal("127.0.0.1:\${PORT}")
newServer{address="127.0.0.1:9", name="first.backend", healthCheckMode="down"}
setServFailWhenNoServer(true)
carbonServer("127.0.0.1:\${C1}", "host.one", 1)
carbonServer("127.0.0.1:\${C2}", "", 1, "ns", "inst")`,
      { C1: c1.port, C2: c2.port },
    );
    const first = parseExport(await c1.next(1));
    expect(first.get('dnsdist.host.one.main.queries')).toBe('0');
    expect(first.get('dnsdist.host.one.main.servers.first_backend.queries')).toBe('0');
    expect(first.get('dnsdist.host.one.main.pools._default_.servers')).toBe('1');
    expect(first.get('dnsdist.host.one.main.pools._default_.servers-up')).toBe('0');
    expect(first.has(`dnsdist.host.one.main.frontends.127_0_0_1:${proxy.port}_udp.queries`)).toBe(true);
    for (const path of first.keys()) expect(path.startsWith('dnsdist.host.one.main.')).toBe(true);
    // The second server: the host's name with dots as underscores, its own namespace and instance.
    const second = parseExport(await c2.next(1));
    expect(second.get(`ns.${hostname().replace(/\./g, '_')}.inst.queries`)).toBe('0');

    const answer = await udpQuery(proxy.port, 'counted.carbon.test');
    expect(answer?.rcode).toBe('SERVFAIL');
    // An export gathered before the answer may still be on its way: the one after it counts the query.
    let after = parseExport(await c1.next(c1.exports.length + 1));
    if (after.get('dnsdist.host.one.main.queries') === '0') after = parseExport(await c1.next(c1.exports.length + 1));
    expect(after.get('dnsdist.host.one.main.queries')).toBe('1');
    expect(after.get('dnsdist.host.one.main.frontend-servfail')).toBe('1');
    expect(after.get(`dnsdist.host.one.main.frontends.127_0_0_1:${proxy.port}_udp.queries`)).toBe('1');
    const endpoint = proxy.app.carbon.endpoints[0]!;
    expect(endpoint.sent).toBeGreaterThanOrEqual(2);
    expect(endpoint.failed).toBe(0);
  });

  it('counts and logs an export the Carbon server refuses, and shows the counts in /metrics', async () => {
    const closedPort = await freePort();
    const proxy = await start(`setLocal("127.0.0.1:\${PORT}") carbonServer("127.0.0.1:\${C}", "h", 1)`, { C: closedPort });
    const endpoint = proxy.app.carbon.endpoints[0]!;
    expect(await proxy.app.carbon.exportOnce(endpoint)).toBe(false);
    expect(endpoint.failed).toBeGreaterThanOrEqual(1);
    expect(proxy.output.some((l) => l === `Problem sending carbon data to 127.0.0.1:${closedPort}: ECONNREFUSED`)).toBe(true);
    const text = (await proxy.app.web.metrics.renderBytes()).toString();
    expect(text).toMatch(
      new RegExp(`^dnsdist_ts_carbon_exports_total\\{carbon_server="127.0.0.1:${closedPort}",result="failed"\\} [1-9]`, 'm'),
    );
  });

  it('refuses a bad address and an interval under one second, naming them', async () => {
    await expect(loadConfigurationOutput('carbonServer("not an address")')).rejects.toThrow(
      /carbonServer: 'not an address' is not an address/,
    );
    await expect(loadConfigurationOutput('carbonServer("127.0.0.1", "h", 0)')).rejects.toThrow(/at least 1, got 0/);
  });

  describeDnsdist('side by side with dnsdist 1.7.3', () => {
    it('sends the same paths, and the same values for all but the process figures', async () => {
      const ours = await carbonListener();
      const theirs = await carbonListener();
      cleanups.push(
        () => ours.close(),
        () => theirs.close(),
      );
      const config = (listen: number, carbon: number): string => `setLocal("127.0.0.1:${listen}")
newServer{address="127.0.0.1:9", name="b.one"}:setDown()
newServer{address="127.0.0.1:9", pool="p.x"}:setUp()
pc = newPacketCache(100)
getPool(""):setCache(pc)
carbonServer("127.0.0.1:${carbon}", "side", 1, "ns", "inst")
`;
      const dnsdist = spawnDnsdist(config(await freePort(), theirs.port));
      cleanups.push(() => dnsdist.stop());
      await start(config(0, ours.port).replace('setLocal("127.0.0.1:0")', 'setLocal("127.0.0.1:${PORT}")'), {});
      const a = parseExport(await ours.next(1));
      const b = parseExport(await theirs.next(1));
      // The two listen on different ports: frontend paths are compared without theirs.
      const norm = (m: Map<string, string>): Map<string, string> =>
        new Map([...m].map(([k, v]) => [k.replace(/127_0_0_1:\d+_(udp|tcp)/, '127_0_0_1:PORT_$1'), v]));
      const na = norm(a);
      const nb = norm(b);
      expect([...na.keys()].sort()).toEqual([...nb.keys()].sort());
      const values = (m: Map<string, string>) => Object.fromEntries([...m].filter(([k]) => !PROCESS_FIGURE.test(k)));
      expect(values(na)).toEqual(values(nb));
    });

    it('sends the same frontend paths for DoT and DoH listeners, and the same query, answer and TLS figures for one query each', async () => {
      const cert = await makeCertificate('doh.test');
      const ours = await carbonListener();
      const theirs = await carbonListener();
      cleanups.push(
        async () => cert.cleanup(),
        () => ours.close(),
        () => theirs.close(),
      );
      const config = (p: {
        listen: number;
        dot: number;
        doh: number;
        h2c: number;
        carbon: number;
      }): string => `setLocal("127.0.0.1:${p.listen}")
addTLSLocal("127.0.0.1:${p.dot}", "${cert.cert}", "${cert.key}")
addDOHLocal("127.0.0.1:${p.doh}", "${cert.cert}", "${cert.key}", "/dns-query")
addDOHLocal("127.0.0.1:${p.h2c}")
addAction(AllRule(), SpoofAction("192.0.2.1"))
carbonServer("127.0.0.1:${p.carbon}", "side", 1, "ns", "inst")
`;
      const ports = async (carbon: number) => ({
        listen: await freePort(),
        dot: await freePort(),
        doh: await freePort(),
        h2c: await freePort(),
        carbon,
      });
      const theirPorts = await ports(theirs.port);
      const dnsdist = spawnDnsdist(config(theirPorts));
      cleanups.push(() => dnsdist.stop());
      const ourPorts = await ports(ours.port);
      await start(config(ourPorts), {});
      // A first export: the listeners are open (dnsdist starts its Carbon thread after binding them).
      await ours.next(1);
      await theirs.next(1);
      const figures = async (p: typeof ourPorts, carbon: Awaited<ReturnType<typeof carbonListener>>): Promise<Map<string, string>> => {
        expect(await dotQuery(p.dot, cert.cert, 'dot.carbon.test')).toBeGreaterThan(12);
        expect(await kdigHttps(p.doh, 'doh.carbon.test', { ca: cert.cert })).toContain('192.0.2.1');
        // An export gathered before the answers may still be on its way (and the workers' counters are summed once a tick).
        const dotQueries = `ns.side.inst.frontends.127_0_0_1:${p.dot}_tcp.queries`;
        const dohQueries = `ns.side.inst.frontends.127_0_0_1:${p.doh}_tcp.queries`;
        let m = new Map<string, string>();
        for (let i = 0; i < 5 && !(m.get(dotQueries) === '1' && m.get(dohQueries) === '1'); i++) {
          m = parseExport(await carbon.next(carbon.exports.length + 1));
        }
        return byListenerRank(m);
      };
      const [a, b] = await Promise.all([figures(ourPorts, ours), figures(theirPorts, theirs)]);
      const frontendPaths = (m: Map<string, string>): string[] => [...m.keys()].filter((k) => k.includes('.frontends.')).sort();
      expect(frontendPaths(a)).toEqual(frontendPaths(b));
      // P1 is the DoT listener, P2 the DoH one (dnsdist's order: the configuration's).
      const compared =
        /\.frontends\.127_0_0_1:P[12]_tcp\.(queries|responses|tls1[0-3]-queries|tls-unknown-queries|tlsnewsessions|tlsresumptions|tlsunknownticketkeys|tlsinactiveticketkeys|tls[a-z]+(small|fallback|cipher|type|protocol|ec))$/;
      const pick = (m: Map<string, string>) => Object.fromEntries([...m].filter(([k]) => compared.test(k)));
      expect(Object.keys(pick(a)).length).toBe(2 * 19);
      expect(pick(a)).toEqual(pick(b));
      expect(a.get('ns.side.inst.frontends.127_0_0_1:P1_tcp.tls13-queries')).toBe('1');
      expect(a.get('ns.side.inst.frontends.127_0_0_1:P2_tcp.tlsnewsessions')).toBe('1');
    });
  });
});
