/**
 * dnsdist 1.7.3 vs dnsdist-ts, side by side, in one run: the same fast C
 * backend, the same dnsperf load, the same configuration, started
 * alternately. Prints queries/s, CPU µs per query (proxy process only) and
 * p50/p99 latency at fixed rates, with dnsdist-ts / dnsdist ratios.
 *
 *   pnpm exec tsx test/bench/proxy/proxy.bench.ts [--seconds 8] [--rounds 2] [--latency-seconds 6] [--latency-qps 5000,40000] [--port-base 45300] [--only udp,cache,cache-floor,tcp,tcp-threads,tcp-ooor,tcp-floor,tcp-native-floor,tcp-epoll,dot,dot-handshakes,dot-handshakes-floor,doh,doh-floor,doh-backend,rules,lua,floor,epoll] [--workers 1,2]
 *
 * `--workers` lists the listener counts compared (default 1): with N,
 * dnsdist gets its listener N times with reusePort=true (N receiver
 * threads) and dnsdist-ts `--workers N` (N data-plane worker threads, each
 * with its own SO_REUSEPORT listener). Rows with N > 1 say "×N"; the
 * stand-ins (one event loop each) run only with N = 1. The `dot` and `doh` rows with N > 1
 * give dnsdist its addTLSLocal / addDOHLocal N times with reusePort=true;
 * dnsdist-ts opens them in each worker.
 *
 * `--latency-qps` lists the fixed rates latency is measured at (default
 * 5000): a low rate shows per-wake-up costs (one query per event-loop turn),
 * a higher one queueing behind the one event-loop thread.
 *
 * The `dot` row is DNS over TLS (dnsperf -m dot, persistent connections)
 * to an addTLSLocal listener on both proxies, with the same certificate and
 * key, made for the run with the openssl command (RSA 2048, TLS 1.3). Its
 * backend traffic is plain UDP, as in the `udp` row. The `doh` row is the
 * same over DNS over HTTPS to an addDOHLocal listener with the same
 * certificate, loaded by h2load (nghttp2-client: HTTP/2 POSTs of one wire
 * query over persistent connections, 20 connections of 10 streams; the
 * fixed-rate runs 5 connections of one stream at a time, latency from its
 * per-request log). dnsperf 2.10's DoH mode is not used: with more than one
 * query outstanding per connection it loses most answers (both proxies).
 * `doh-floor` (only when asked for) puts node-doh-floor.ts in dnsdist-ts's
 * columns: Node's HTTP/2 and TLS with only a query-ID remap in JS.
 *
 * The `dot-handshakes` row is new connections to the `dot` listener:
 * tls-handshake-client.c (4 threads) connects, completes a full TLS 1.3
 * handshake (no resumption), asks one query, reads the answer and closes,
 * in a loop; its columns are exchanges per second and CPU per exchange.
 * `dot-handshakes-floor` (only when asked for) puts node-dot-floor.ts in
 * dnsdist-ts's columns: Node's tls.createServer with only the framing and a
 * query-ID remap in JS, what a new TLS connection costs Node alone.
 *
 * The `tcp-threads` row is the `tcp` row with setMaxTCPClientThreads(N)
 * for both: dnsdist runs TCP queries on its TCP worker threads (10 by
 * default, at any N), dnsdist-ts on its N workers (where the setting leaves
 * TCP to every worker), so this row compares N threads with N.
 *
 * The `tcp-ooor` row forwards TCP with `newServer{maxInFlight=100}` for both
 * proxies: up to 100 queries share a backend connection (`tcp` sends one at a
 * time per connection, dnsdist's default).
 *
 * The `lua` row runs a LuaRule and a LuaAction (each reading dq.qname) on
 * every query: what Lua-defined logic costs per query.
 *
 * Two rows put a stand-in in dnsdist-ts's columns (dnsdist runs the plain
 * forwarding configuration): `floor` is node-floor-forwarder.ts, the same
 * native endpoint with only a query-ID remap in JS (what any Node forwarder
 * built this way costs before the proxy does any work); `epoll` is
 * epoll-forwarder.c, the same one-thread event-loop shape in C (what the
 * shape costs without Node). `tcp-floor` (node-tcp-floor.ts: node:net on
 * both sides, framing only), `tcp-native-floor` (native-tcp-floor.ts: the
 * same over the addon's TCP streams, at every N like `floor`) and
 * `tcp-epoll` (tcp-epoll-forwarder.c) are the floors of the `tcp` row.
 * `cache-floor` (node-floor-forwarder.ts with CACHE=1: repeats of a question
 * answered from a kept copy of its first answer, keyed by a hash of the
 * query, nothing else) is the floor of the `cache` row, at every N.
 * `epoll`, `cache-floor` and the `tcp-…` floors run only when asked for. `floor` runs
 * at every N: with N worker threads, each with its own SO_REUSEPORT listener
 * and backend socket (what N data-plane workers cost Node before the proxy
 * does any work); the other stand-ins only at N = 1.
 *
 * The `doh-backend` row (only when asked for: `--only doh-backend`) sends
 * the UDP load to a DoH backend, `newServer{tls="openssl", dohPath=…}`:
 * each query becomes an HTTP/2 POST on the proxy's reused connections. The
 * DoH server is a third process, Debian's dnsdist 1.7.3 with addDOHLocal in
 * front of the fast backend, the same for both proxies; it shares the CPUs,
 * so the row compares the proxies' DoH clients under the same load rather
 * than measuring a ceiling.
 *
 * Everything listens on 127.0.0.1; every process is bounded in time and killed at the end.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../../..');
const tmp = join(root, '.bench-tmp', 'proxy');
mkdirSync(tmp, { recursive: true });

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : dflt;
};
const SECONDS = Number(opt('seconds', '8'));
const ROUNDS = Number(opt('rounds', '2'));
const ONLY = opt('only', 'udp,cache,tcp,tcp-threads,tcp-ooor,dot,dot-handshakes,doh,rules,lua,floor').split(',');
const LATENCY_SECONDS = Number(opt('latency-seconds', '6'));
const LATENCY_QPS = opt('latency-qps', '5000')
  .split(',')
  .map((q) => {
    const n = Number(q);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--latency-qps: '${q}' is not a positive integer rate`);
    return n;
  });
const WORKERS = opt('workers', '1')
  .split(',')
  .map((w) => {
    const n = Number(w);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--workers: '${w}' is not a positive integer`);
    return n;
  });
const rateLabel = (qps: number): string => (qps % 1000 === 0 ? `${qps / 1000}k` : String(qps));
/** --port-base: the first of the seven loopback ports the run uses (another run on the machine keeps its own). */
const PORT_BASE = Number(opt('port-base', '45300'));
if (!Number.isInteger(PORT_BASE) || PORT_BASE < 1024 || PORT_BASE > 65535 - 6) {
  throw new Error(`--port-base: '${opt('port-base', '')}' is not a port from 1024 to 65529`);
}
const BACKEND_PORT = PORT_BASE + 1;
const PROXY_PORT = PORT_BASE;
/** The `dot` row's TLS listener (the UDP/TCP one stays, for the readiness probe). */
const DOT_PORT = PORT_BASE + 2;
/** The `doh` row's HTTPS listener. */
const DOH_PORT = PORT_BASE + 3;
/** The `doh-backend` row's DoH server: its DoH listener, and a plain one for the readiness probe. */
const DOH_SERVER_PORT = PORT_BASE + 5;
const DOH_SERVER_PROBE_PORT = PORT_BASE + 6;

/** What can stand in dnsdist-ts's place: the floors. */
type StandIn =
  | 'node-floor'
  | 'node-cache-floor'
  | 'epoll-floor'
  | 'node-tcp-floor'
  | 'native-tcp-floor'
  | 'tcp-epoll-floor'
  | 'node-doh-floor'
  | 'node-dot-floor';

interface Scenario {
  name: string;
  mode: 'udp' | 'tcp' | 'dot' | 'doh' | 'dot-new';
  config: string;
  /** Measure this stand-in in dnsdist-ts's place (dnsdist still runs `config`). */
  standIn?: StandIn;
  /** A DoH server (dnsdist 1.7.3 with addDOHLocal before the fast backend) must run for it. */
  needsDohServer?: boolean;
}

const base = `setLocal("127.0.0.1:${PROXY_PORT}")
setACL({"127.0.0.0/8"})
newServer{address="127.0.0.1:${BACKEND_PORT}", checkName="bench.test."}
`;
let dotFiles: { cert: string; key: string } | undefined;

/** The certificate and key of the `dot` row, made once per run: both proxies serve the same. */
function dotCertificate(): { cert: string; key: string } {
  if (dotFiles === undefined) {
    const cert = join(tmp, 'dot.pem');
    const key = join(tmp, 'dot.key');
    sh('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=bench.test']);
    dotFiles = { cert, key };
  }
  return dotFiles;
}

const cached = `${base}pc = newPacketCache(10000)\ngetPool(""):setCache(pc)\n`;

const scenarios: Scenario[] = [
  { name: 'udp', mode: 'udp', config: base },
  { name: 'floor', mode: 'udp', config: base, standIn: 'node-floor' },
  { name: 'epoll', mode: 'udp', config: base, standIn: 'epoll-floor' },
  { name: 'cache', mode: 'udp', config: cached },
  { name: 'cache-floor', mode: 'udp', config: cached, standIn: 'node-cache-floor' },
  { name: 'tcp', mode: 'tcp', config: base },
  { name: 'tcp-floor', mode: 'tcp', config: base, standIn: 'node-tcp-floor' },
  { name: 'tcp-native-floor', mode: 'tcp', config: base, standIn: 'native-tcp-floor' },
  { name: 'tcp-epoll', mode: 'tcp', config: base, standIn: 'tcp-epoll-floor' },
  // dnsdist's TCP queries run on its TCP worker threads, 10 by default whatever the listeners: this row
  // gives it as many as dnsdist-ts has workers (@WORKERS@ is the row's N), thread for thread.
  { name: 'tcp-threads', mode: 'tcp', config: `${base}setMaxTCPClientThreads(@WORKERS@)\n` },
  // Both proxies pipeline up to 100 queries per backend connection (out-of-order TCP): the
  // packing `tcp` had in dnsdist-ts until backends got dnsdist's one-query-per-connection default.
  { name: 'tcp-ooor', mode: 'tcp', config: base.replace('checkName="bench.test."}', 'checkName="bench.test.", maxInFlight=100}') },
  {
    name: 'rules',
    mode: 'udp',
    config: `${base}setRingBuffersSize(10000, 10)
addAction(QTypeRule(DNSQType.AXFR), DropAction())
addAction(OrRule({QNameRule("never.bench.test."), RegexRule("^nothing-matches")}), RCodeAction(DNSRCode.REFUSED))
smn = newSuffixMatchNode()
smn:add("blocked.example.")
addAction(SuffixMatchNodeRule(smn), DropAction())
local dbr = dynBlockRulesGroup()
dbr:setQueryRate(1000000, 10, "Exceeded query rate", 60)
dbr:setRCodeRate(DNSRCode.NXDOMAIN, 1000000, 10, "Exceeded NXD rate", 60)
function maintenance() dbr:apply() end
`,
  },
  {
    name: 'dot',
    mode: 'dot',
    get config(): string {
      const { cert, key } = dotCertificate();
      return `${base}addTLSLocal("127.0.0.1:${DOT_PORT}", "${cert}", "${key}")\n`;
    },
  },
  {
    // A full TLS handshake per query: the new-connection rate of the `dot` listener.
    name: 'dot-handshakes',
    mode: 'dot-new',
    get config(): string {
      const { cert, key } = dotCertificate();
      return `${base}addTLSLocal("127.0.0.1:${DOT_PORT}", "${cert}", "${key}")\n`;
    },
  },
  {
    // Node's tls.createServer with only framing and an ID remap in JS, in dnsdist-ts's columns.
    name: 'dot-handshakes-floor',
    mode: 'dot-new',
    standIn: 'node-dot-floor',
    get config(): string {
      const { cert, key } = dotCertificate();
      return `${base}addTLSLocal("127.0.0.1:${DOT_PORT}", "${cert}", "${key}")\n`;
    },
  },
  {
    name: 'doh',
    mode: 'doh',
    get config(): string {
      const { cert, key } = dotCertificate();
      return `${base}addDOHLocal("127.0.0.1:${DOH_PORT}", "${cert}", "${key}", "/dns-query")\n`;
    },
  },
  {
    // Node's HTTP/2 over TLS with only an ID remap in JS, in dnsdist-ts's columns.
    name: 'doh-floor',
    mode: 'doh',
    standIn: 'node-doh-floor',
    get config(): string {
      const { cert, key } = dotCertificate();
      return `${base}addDOHLocal("127.0.0.1:${DOH_PORT}", "${cert}", "${key}", "/dns-query")\n`;
    },
  },
  {
    name: 'doh-backend',
    mode: 'udp',
    needsDohServer: true,
    config: `setLocal("127.0.0.1:${PROXY_PORT}")
setACL({"127.0.0.0/8"})
newServer{address="127.0.0.1:${DOH_SERVER_PORT}", tls="openssl", validateCertificates=false, dohPath="/dns-query", checkName="bench.test."}
`,
  },
  {
    // Lua-defined logic on every query: a LuaRule and a LuaAction, each reading dq.qname.
    name: 'lua',
    mode: 'udp',
    config: `${base}addAction(LuaRule(function(dq) local n = dq.qname return false end), DropAction())
addAction(AllRule(), LuaAction(function(dq) local n = dq.qname return DNSAction.None end))
`,
  },
];

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8' });
}

const built = new Map<string, string>();

/** Compile test/bench/proxy/NAME.c into the bench's scratch folder, once per run. */
function buildC(name: string): string {
  let bin = built.get(name);
  if (bin === undefined) {
    bin = join(tmp, name);
    sh('cc', ['-O2', '-o', bin, join(here, `${name}.c`), '-lpthread', ...(name === 'tls-handshake-client' ? ['-lssl', '-lcrypto'] : [])]);
    built.set(name, bin);
  }
  return bin;
}

function namesFile(): string {
  const f = join(tmp, 'names.txt');
  writeFileSync(f, Array.from({ length: 200 }, (_, i) => `name${i}.bench.test A`).join('\n') + '\n');
  return f;
}

/** CPU time (user+system) of a process, in µs, from /proc. */
function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1e6) / 100;
}

function udpPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

function answers(port: number): Promise<boolean> {
  const q = Buffer.from('abcd01000001000000000000046e616d650562656e636804746573740000010001', 'hex');
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const t = setTimeout(() => {
      s.close();
      resolve(false);
    }, 200);
    s.on('message', () => {
      clearTimeout(t);
      s.close();
      resolve(true);
    });
    s.send(q, port, '127.0.0.1');
  });
}

type Kind = 'dnsdist' | 'dnsdist-ts' | StandIn;

/** The stand-ins that run N worker threads at N (each says when every worker listens); the others run only at N = 1. */
const STAND_INS_WITH_WORKERS: ReadonlySet<Kind> = new Set<Kind>(['node-floor', 'node-cache-floor', 'native-tcp-floor']);

function spawnProxy(kind: Kind, conf: string, workers: number): ChildProcess {
  switch (kind) {
    case 'dnsdist':
      return spawn('dnsdist', ['--supervised', '--disable-syslog', '-C', conf], { stdio: 'ignore' });
    case 'dnsdist-ts':
      // As users start it: bin/dnsdist-ts execs node with the proxy's V8 flags (same pid).
      return spawn(join(root, 'bin/dnsdist-ts'), ['--supervised', ...(workers > 1 ? ['--workers', String(workers)] : []), '-C', conf], {
        stdio: ['ignore', workers > 1 ? 'pipe' : 'ignore', 'ignore'],
      });
    case 'node-floor':
    case 'node-cache-floor':
      // With the proxy's V8 flags too; tsx compiles at load, nothing at run time.
      return spawn(
        process.execPath,
        [
          '--no-memory-reducer',
          '--import',
          'tsx',
          join(here, 'node-floor-forwarder.ts'),
          String(PROXY_PORT),
          String(BACKEND_PORT),
          String(workers),
        ],
        {
          stdio: ['ignore', workers > 1 ? 'pipe' : 'ignore', 'ignore'],
          cwd: root,
          env: kind === 'node-cache-floor' ? { ...process.env, CACHE: '1' } : process.env,
        },
      );
    case 'epoll-floor':
      return spawn(buildC('epoll-forwarder'), [String(PROXY_PORT), String(BACKEND_PORT)], { stdio: 'ignore' });
    case 'tcp-epoll-floor':
      return spawn(buildC('tcp-epoll-forwarder'), [String(PROXY_PORT), String(BACKEND_PORT)], { stdio: 'ignore' });
    case 'node-tcp-floor':
      return spawn(
        process.execPath,
        ['--no-memory-reducer', '--import', 'tsx', join(here, 'node-tcp-floor.ts'), String(PROXY_PORT), String(BACKEND_PORT)],
        { stdio: 'ignore', cwd: root },
      );
    case 'native-tcp-floor':
      return spawn(
        process.execPath,
        [
          '--no-memory-reducer',
          '--import',
          'tsx',
          join(here, 'native-tcp-floor.ts'),
          String(PROXY_PORT),
          String(BACKEND_PORT),
          String(workers),
        ],
        { stdio: ['ignore', workers > 1 ? 'pipe' : 'ignore', 'ignore'], cwd: root },
      );
    case 'node-doh-floor':
    case 'node-dot-floor': {
      const { cert, key } = dotCertificate();
      return spawn(
        process.execPath,
        [
          '--no-memory-reducer',
          '--import',
          'tsx',
          join(here, `${kind}.ts`),
          String(PROXY_PORT),
          String(kind === 'node-doh-floor' ? DOH_PORT : DOT_PORT),
          String(BACKEND_PORT),
          cert,
          key,
        ],
        { stdio: 'ignore', cwd: root },
      );
    }
  }
}

/** Resolve once dnsdist-ts (or the floor) logs that its workers all listen (its stdout is piped for this and drained after). */
function allWorkersListening(kind: Kind, child: ChildProcess, deadline: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => reject(new Error(`${kind}: its workers did not all listen within 15 s`)),
      Math.max(0, deadline - Date.now()),
    );
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (/data-plane workers answer queries|floor workers listening/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

/**
 * dnsdist's way to N receiver threads: the listener N times with
 * reusePort=true; its DoT and DoH listeners too (a DoH listener is one
 * thread of its own in dnsdist 1.7).
 */
function withListeners(config: string, n: number): string {
  if (n === 1) return config;
  const local = `"127.0.0.1:${PROXY_PORT}", {reusePort=true}`;
  const lines = [`setLocal(${local})`, ...Array.from({ length: n - 1 }, () => `addLocal(${local})`)];
  return config
    .replace(`setLocal("127.0.0.1:${PROXY_PORT}")`, lines.join('\n'))
    .replace(/^(add(?:TLS|DOH)Local\(.*)\)$/gm, (_, call: string) =>
      Array.from({ length: n }, () => `${call}, {reusePort=true})`).join('\n'),
    );
}

async function startProxy(kind: Kind, config: string, workers: number): Promise<ChildProcess> {
  // A proxy left over from another run would answer in this one's place and be measured instead.
  if (!(await udpPortFree(PROXY_PORT))) {
    throw new Error(`another process holds 127.0.0.1:${PROXY_PORT}/udp: stop it (fuser -k ${PROXY_PORT}/udp) and rerun`);
  }
  const conf = join(tmp, `${kind}.conf`);
  const forN = config.replaceAll('@WORKERS@', String(workers));
  writeFileSync(conf, kind === 'dnsdist' ? withListeners(forN, workers) : forN);
  const child = spawnProxy(kind, conf, workers);
  const deadline = Date.now() + 15000;
  // Wait for an answer or the child's exit; an exited child fails even if something else answered.
  while (child.exitCode === null && !(await answers(PROXY_PORT))) {
    if (Date.now() > deadline) throw new Error(`${kind} did not answer within 15 s`);
  }
  // One worker answering is not all of them listening: dnsdist-ts says when every worker is.
  if ((kind === 'dnsdist-ts' || STAND_INS_WITH_WORKERS.has(kind)) && workers > 1) await allWorkersListening(kind, child, deadline);
  if (child.exitCode !== null) throw new Error(`${kind} exited (${child.exitCode}) on:\n${config}`);
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 3000);
  await done;
  clearTimeout(t);
}

interface LatencyRun {
  p50Ms: number;
  p99Ms: number;
  /** CPU per query during the fixed-rate run (at low rates one query per wake-up, so per-wake costs show). */
  cpuUsPerQuery: number;
}

interface Run {
  qps: number;
  cpuUsPerQuery: number;
  /** One per --latency-qps rate, in order. */
  latency: LatencyRun[];
  lost: number;
}

function dnsperf(names: string, mode: string, extra: string[]): string {
  const port = mode === 'dot' ? DOT_PORT : mode === 'doh' ? DOH_PORT : PROXY_PORT;
  const doh = mode === 'doh' ? ['-O', `doh-uri=https://127.0.0.1:${DOH_PORT}/dns-query`, '-O', 'doh-method=POST'] : [];
  const r = spawnSync('dnsperf', ['-s', '127.0.0.1', '-p', String(port), '-d', names, '-m', mode, '-T', '1', ...doh, ...extra], {
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
    timeout: (SECONDS + 30) * 1000,
  });
  return r.stdout;
}

/** A DNS query for one name in wire format, the body every h2load request POSTs. */
function dohQueryFile(): string {
  const f = join(tmp, 'doh-query.bin');
  const name = Buffer.concat([
    Buffer.from([4]),
    Buffer.from('name'),
    Buffer.from([5]),
    Buffer.from('bench'),
    Buffer.from([4]),
    Buffer.from('test'),
    Buffer.from([0]),
  ]);
  // ID 0 (RFC 8484 asks for it), RD, one question, type A class IN.
  writeFileSync(f, Buffer.concat([Buffer.from([0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), name, Buffer.from([0, 1, 0, 1])]));
  return f;
}

/** One h2load run against the `doh` row's listener; `args` sets the load. */
function h2load(args: string[], seconds: number, logFile?: string): { qps: number; completed: number; latenciesUs: number[] } {
  const r = spawnSync(
    'h2load',
    [
      ...args,
      '-D',
      String(seconds),
      '-d',
      dohQueryFile(),
      '-H',
      'content-type: application/dns-message',
      '-H',
      'accept: application/dns-message',
      ...(logFile ? ['--log-file', logFile] : []),
      `https://127.0.0.1:${DOH_PORT}/dns-query`,
    ],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: (seconds + 30) * 1000 },
  );
  const completed = Number(/requests: .*? (\d+) succeeded/.exec(r.stdout)?.[1] ?? 0);
  const qps = Number(/finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(r.stdout)?.[1] ?? 0);
  // The log: start time, HTTP status, request duration in µs, tab-separated, one request a line.
  const latenciesUs = logFile
    ? readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((l) => l.split('\t')[1] === '200')
        .map((l) => Number(l.split('\t')[2]))
        .sort((a, b) => a - b)
    : [];
  return { qps, completed, latenciesUs };
}

async function measureDoh(child: ChildProcess): Promise<Run> {
  h2load(['-c', '20', '-m', '10'], 1);
  const cpu0 = cpuMicros(child.pid!);
  const sat = h2load(['-c', '20', '-m', '10'], SECONDS);
  const cpu1 = cpuMicros(child.pid!);
  const latency: LatencyRun[] = [];
  for (const rate of LATENCY_QPS) {
    // h2load's --rps is per connection: 5 connections share the rate.
    const perClient = ['-c', '5', '-m', '1', '--rps', String(Math.max(1, Math.round(rate / 5)))];
    h2load(perClient, 2);
    const cpu2 = cpuMicros(child.pid!);
    const log = join(tmp, 'h2load.log');
    const run = h2load(perClient, LATENCY_SECONDS, log);
    const cpu3 = cpuMicros(child.pid!);
    const at = (q: number): number => (run.latenciesUs.length > 0 ? run.latenciesUs[Math.floor(run.latenciesUs.length * q)]! / 1000 : NaN);
    latency.push({ p50Ms: at(0.5), p99Ms: at(0.99), cpuUsPerQuery: run.completed > 0 ? (cpu3 - cpu2) / run.completed : NaN });
  }
  return { qps: sat.qps, cpuUsPerQuery: sat.completed > 0 ? (cpu1 - cpu0) / sat.completed : NaN, latency, lost: 0 };
}

/**
 * The dot-handshakes row: tls-handshake-client.c's threads each connect, handshake in full, ask
 * one query and close, in a loop. The rate is of completed exchanges; there is no fixed-rate part.
 */
function measureHandshakes(child: ChildProcess): Run {
  const client = buildC('tls-handshake-client');
  const run = (seconds: number): { rate: number; done: number } => {
    const out = execFileSync(client, ['127.0.0.1', String(DOT_PORT), '4', String(seconds)], {
      encoding: 'utf8',
      timeout: (seconds + 30) * 1000,
    });
    const m = /exchanges: (\d+) failed: (\d+) seconds: [\d.]+ rate: ([\d.]+)/.exec(out);
    if (!m) throw new Error(`tls-handshake-client said: ${out}`);
    return { rate: Number(m[3]), done: Number(m[1]) };
  };
  run(1);
  const cpu0 = cpuMicros(child.pid!);
  const r = run(SECONDS);
  const cpu1 = cpuMicros(child.pid!);
  const none: LatencyRun = { p50Ms: NaN, p99Ms: NaN, cpuUsPerQuery: NaN };
  return { qps: r.rate, cpuUsPerQuery: r.done > 0 ? (cpu1 - cpu0) / r.done : NaN, latency: LATENCY_QPS.map(() => none), lost: 0 };
}

async function measure(kind: Kind, sc: Scenario, names: string, workers: number): Promise<Run> {
  const child = await startProxy(kind, sc.config, workers);
  if (sc.mode === 'dot-new') {
    try {
      return measureHandshakes(child);
    } finally {
      await stop(child);
    }
  }
  if (sc.mode === 'doh') {
    try {
      return await measureDoh(child);
    } finally {
      await stop(child);
    }
  }
  try {
    // Warm-up (JIT, caches), then the saturating run.
    dnsperf(names, sc.mode, ['-l', '1', '-c', '20', '-q', '300']);
    const cpu0 = cpuMicros(child.pid!);
    const out = dnsperf(names, sc.mode, ['-l', String(SECONDS), '-c', '20', '-q', '300']);
    const cpu1 = cpuMicros(child.pid!);
    const qps = Number(/Queries per second:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
    const completed = Number(/Queries completed:\s+(\d+)/.exec(out)?.[1] ?? 0);
    const lost = Number(/Queries lost:\s+(\d+)/.exec(out)?.[1] ?? 0);
    // Latency at fixed rates, every query's latency (-v). Both proxies first get 2 s at each rate:
    // the step down from saturation (new client connections, code paths and heap sizing
    // settling) is a transient, not the steady latency being compared.
    const latency: LatencyRun[] = [];
    for (const rate of LATENCY_QPS) {
      dnsperf(names, sc.mode, ['-l', '2', '-Q', String(rate), '-c', '5']);
      const cpu2 = cpuMicros(child.pid!);
      const lat = dnsperf(names, sc.mode, ['-l', String(LATENCY_SECONDS), '-Q', String(rate), '-c', '5', '-v']);
      const cpu3 = cpuMicros(child.pid!);
      const latCompleted = Number(/Queries completed:\s+(\d+)/.exec(lat)?.[1] ?? 0);
      const samples = [...lat.matchAll(/^> \S+ \S+ \S+ ([\d.]+)$/gm)].map((m) => Number(m[1])).sort((a, b) => a - b);
      const at = (q: number): number => (samples.length > 0 ? samples[Math.floor(samples.length * q)]! * 1000 : NaN);
      latency.push({ p50Ms: at(0.5), p99Ms: at(0.99), cpuUsPerQuery: latCompleted > 0 ? (cpu3 - cpu2) / latCompleted : NaN });
    }
    return {
      qps,
      cpuUsPerQuery: completed > 0 ? (cpu1 - cpu0) / completed : NaN,
      latency,
      lost,
    };
  } finally {
    await stop(child);
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

/** The `doh-backend` row's DoH server, started on first use and killed with the backend. */
let dohServer: ChildProcess | undefined;

async function startDohServer(): Promise<void> {
  if (dohServer !== undefined) return;
  const { cert, key } = dotCertificate();
  const conf = join(tmp, 'doh-server.conf');
  writeFileSync(
    conf,
    `setLocal("127.0.0.1:${DOH_SERVER_PROBE_PORT}")
setACL({"127.0.0.0/8"})
newServer{address="127.0.0.1:${BACKEND_PORT}", checkName="bench.test."}
addDOHLocal("127.0.0.1:${DOH_SERVER_PORT}", "${cert}", "${key}", "/dns-query")
`,
  );
  dohServer = spawn('dnsdist', ['--supervised', '--disable-syslog', '-C', conf], { stdio: 'ignore' });
  const deadline = Date.now() + 15000;
  while (dohServer.exitCode === null && !(await answers(DOH_SERVER_PROBE_PORT))) {
    if (Date.now() > deadline) throw new Error('the DoH server (dnsdist 1.7.3) did not answer within 15 s');
  }
  if (dohServer.exitCode !== null) throw new Error(`the DoH server (dnsdist 1.7.3) exited (${dohServer.exitCode})`);
}

async function main(): Promise<void> {
  const backendBin = buildC('fast-backend');
  const names = namesFile();
  const backend = spawn(backendBin, [String(BACKEND_PORT)], { stdio: 'ignore' });
  const version = sh('dnsdist', ['--version']).split('\n')[0];
  console.log(`# proxy benchmark: ${SECONDS}s per run, ${ROUNDS} rounds, ${version}, node ${process.version}`);
  const latencyHeads = LATENCY_QPS.map((q) => {
    const k = rateLabel(q);
    return `dnsdist p50 / p99 ms at ${k} | dnsdist-ts p50 / p99 ms at ${k} | µs CPU/q at ${k} qps, dnsdist / dnsdist-ts`;
  });
  console.log(`| scenario | dnsdist qps | dnsdist-ts qps | ratio | dnsdist µs CPU/q | dnsdist-ts µs CPU/q | ${latencyHeads.join(' | ')} |`);
  console.log(`|---|---:|---:|---:|---:|---:|${LATENCY_QPS.map(() => '---:|---:|---:|').join('')}`);
  try {
    const rows = WORKERS.flatMap((workers) =>
      scenarios
        .filter((s) => ONLY.includes(s.name) && (workers === 1 || !s.standIn || STAND_INS_WITH_WORKERS.has(s.standIn)))
        .map((sc) => ({ sc, workers })),
    );
    for (const { sc, workers } of rows) {
      const label = workers > 1 ? `${sc.name} ×${workers}` : sc.name;
      const runs: Record<string, Run[]> = { dnsdist: [], 'dnsdist-ts': [] };
      if (sc.needsDohServer) await startDohServer();
      for (let r = 0; r < ROUNDS; r++) {
        for (const kind of ['dnsdist', 'dnsdist-ts'] as const) {
          try {
            runs[kind]!.push(await measure(kind === 'dnsdist-ts' && sc.standIn ? sc.standIn : kind, sc, names, workers));
          } catch (err) {
            console.error(`${label} / ${kind}: ${(err as Error).message.split('\n')[0]}`);
          }
        }
      }
      const d = runs.dnsdist!;
      const t = runs['dnsdist-ts']!;
      if (d.length === 0 || t.length === 0) {
        console.log(
          `| ${label} | ${d.length ? median(d.map((x) => x.qps)).toFixed(0) : 'failed'} | ${t.length ? median(t.map((x) => x.qps)).toFixed(0) : 'failed'} | - | | |${LATENCY_QPS.map(() => ' | | |').join('')}`,
        );
        continue;
      }
      const dq = median(d.map((x) => x.qps));
      const tq = median(t.map((x) => x.qps));
      const latencyCells = LATENCY_QPS.map((_, i) => {
        const m = (runs: Run[], f: (l: LatencyRun) => number): number => median(runs.map((x) => f(x.latency[i]!)));
        return `${m(d, (l) => l.p50Ms).toFixed(3)} / ${m(d, (l) => l.p99Ms).toFixed(3)} | ${m(t, (l) => l.p50Ms).toFixed(3)} / ${m(t, (l) => l.p99Ms).toFixed(3)} | ${m(d, (l) => l.cpuUsPerQuery).toFixed(1)} / ${m(t, (l) => l.cpuUsPerQuery).toFixed(1)}`;
      });
      console.log(
        `| ${label} | ${dq.toFixed(0)} | ${tq.toFixed(0)} | ${(tq / dq).toFixed(2)}× | ${median(d.map((x) => x.cpuUsPerQuery)).toFixed(1)} | ${median(t.map((x) => x.cpuUsPerQuery)).toFixed(1)} | ${latencyCells.join(' | ')} |`,
      );
    }
  } finally {
    backend.kill('SIGKILL');
    dohServer?.kill('SIGKILL');
  }
}

await main();
