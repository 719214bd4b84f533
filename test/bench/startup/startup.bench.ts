/**
 * Start-up time: dnsdist-ts against Debian's dnsdist 1.7.3 on the same
 * configurations. For each binary and configuration it reports the median
 * (and min/max) of N runs of
 *   - `--check-config -C FILE`: spawn to exit;
 *   - time to first answer: spawn (`--supervised --disable-syslog -C FILE`)
 *     to the first answered UDP query, probed every 5 ms; the backend is a
 *     responder in this process answering every query (health checks too).
 *
 * Configurations: a small one (setLocal + newServer) and the shipped
 * conf/dnsdist.conf, whose loopback ports are rewritten to free ones and
 * whose kernel-enforcement block is switched off (`bpfUnavailable = nil`):
 * the bench must not attach XDP to the shared loopback.
 *
 *   pnpm exec tsx test/bench/startup/startup.bench.ts [--bin path/to/dnsdist-ts] [--before other/bin/dnsdist-ts]
 *     [--reference /usr/bin/dnsdist] [--runs 7]
 *
 * `--bin` runs another build; `--before` adds one more (another worktree's
 * bin/dnsdist-ts) for a before/after comparison, run by run interleaved
 * with the others; `--reference ''` skips dnsdist.
 *
 * Data-plane workers (`--workers 1,2`, the default; `--workers ''` skips):
 * the small configuration run with `--workers N` (dnsdist-ts only), timed
 * from spawn to the first answer and to "N data-plane workers answer
 * queries" (every worker listens; with N = 1 the first answer stands for
 * it). `--workers-only` skips the configurations above.
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const argv = process.argv.slice(2);
function option(name: string, fallback: string): string {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback;
}
const BIN = option('--bin', fileURLToPath(new URL('../../../bin/dnsdist-ts', import.meta.url)));
const BEFORE = option('--before', '');
const REFERENCE = option('--reference', '/usr/bin/dnsdist');
const RUNS = Number(option('--runs', '7'));
const WORKERS = option('--workers', '1,2')
  .split(',')
  .filter((w) => w !== '')
  .map(Number);
const WORKERS_ONLY = argv.includes('--workers-only');
const SHIPPED = fileURLToPath(new URL('../../../conf/dnsdist.conf', import.meta.url));
const ANSWER_TIMEOUT_MS = 30_000;

async function freePort(): Promise<number> {
  // A port free for both UDP and TCP (dnsdist listens on both).
  for (;;) {
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const port = (s.address() as net.AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    const u = dgram.createSocket('udp4');
    const ok = await new Promise<boolean>((r) => {
      u.once('error', () => r(false));
      u.bind(port, '127.0.0.1', () => r(true));
    });
    await new Promise<void>((r) => u.close(() => r()));
    if (ok) return port;
  }
}

/** Answers every query with its own question, QR set, NOERROR: enough for health checks and probes. */
async function startResponder(): Promise<{ port: number; close: () => Promise<void> }> {
  const s = dgram.createSocket('udp4');
  s.on('message', (msg, rinfo) => {
    if (msg.length < 12) return;
    const out = Buffer.from(msg);
    out[2] = (out[2]! | 0x80) & 0xf9; // QR, clear AA/TC
    out[3] = 0x00;
    s.send(out, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return { port: s.address().port, close: () => new Promise<void>((r) => s.close(() => r())) };
}

/** A query for example.test/A with id `id`. */
function query(id: number): Buffer {
  const name = Buffer.from([7, ...Buffer.from('example'), 4, ...Buffer.from('test'), 0]);
  const header = Buffer.from([id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
  return Buffer.concat([header, name, Buffer.from([0, 1, 0, 1])]);
}

interface BenchConfig {
  name: string;
  /** The configuration text for a proxy listening on `listen` and forwarding to `backend`. */
  text(listen: number, backend: number): Promise<string>;
}

const CONFIGS: BenchConfig[] = [
  {
    name: 'small',
    text: async (listen, backend) => `setLocal("127.0.0.1:${listen}")\nnewServer{address="127.0.0.1:${backend}"}\n`,
  },
  {
    name: 'conf/dnsdist.conf',
    text: async (listen, backend) => {
      let text = readFileSync(SHIPPED, 'utf8');
      text = text.replaceAll('127.0.0.1:5300', `127.0.0.1:${listen}`).replaceAll('127.0.0.1:5301', `127.0.0.1:${backend}`);
      for (const fixed of ['5199', '8083']) text = text.replaceAll(`127.0.0.1:${fixed}`, `127.0.0.1:${await freePort()}`);
      return `bpfUnavailable = nil -- bench: never attach XDP to the shared loopback\n${text}`;
    },
  },
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** CPU time (user + sys, every thread) a live process has used so far, in ms (/proc/PID/stat). */
function cpuMsOf(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in USER_HZ (100)
  } catch {
    return NaN;
  }
}

/** Wall time, and CPU time (user + sys, from /usr/bin/time, the load-independent figure) of one --check-config. */
async function checkConfigMs(bin: string, file: string): Promise<{ ms: number; cpu: number }> {
  const timed = existsSync('/usr/bin/time');
  const t0 = performance.now();
  const argv = ['--check-config', '-C', file];
  const child = timed
    ? spawn('/usr/bin/time', ['-f', 'cpu %U %S', bin, ...argv], { stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn(bin, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  const ms = performance.now() - t0;
  if (code !== 0) throw new Error(`${bin} --check-config -C ${file} exited ${code}: ${err}`);
  const m = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(err);
  return { ms, cpu: m ? (Number(m[1]) + Number(m[2])) * 1000 : NaN };
}

async function firstAnswerMs(bin: string, file: string, listen: number): Promise<{ ms: number; cpu: number }> {
  const t = await startupMs(bin, file, listen, undefined);
  return { ms: t.answer, cpu: t.cpu };
}

/**
 * Spawn to first answer and, with `workers`, spawn to the line saying that
 * many data-plane workers answer (each listens).
 */
async function startupMs(
  bin: string,
  file: string,
  listen: number,
  workers: number | undefined,
): Promise<{ answer: number; all: number; cpu: number }> {
  const probe = dgram.createSocket('udp4');
  await new Promise<void>((r) => probe.bind(0, '127.0.0.1', () => r()));
  const t0 = performance.now();
  const args = ['--supervised', '--disable-syslog', '-C', file, ...(workers !== undefined ? ['--workers', String(workers)] : [])];
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  let out = '';
  const readyLine = `${workers ?? 1} data-plane workers answer queries`;
  const allListening = new Promise<number>((resolve) => {
    if (workers === undefined || workers < 2) return;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes(readyLine)) resolve(performance.now() - t0);
    });
  });
  child.stdout.resume();
  let id = 0;
  const exited = new Promise<never>((_, reject) =>
    child.on('exit', (c) => reject(new Error(`${bin} exited ${c} before answering: ${err}`))),
  );
  const answered = new Promise<number>((resolve) => probe.once('message', () => resolve(performance.now() - t0)));
  const timer = setInterval(() => probe.send(query(++id & 0xffff), listen, '127.0.0.1'), 5);
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`${bin}: no answer in ${ANSWER_TIMEOUT_MS} ms: ${err}`)), ANSWER_TIMEOUT_MS).unref(),
  );
  try {
    const answer = await Promise.race([answered, exited, timeout]);
    const all = workers !== undefined && workers > 1 ? await Promise.race([allListening, exited, timeout]) : answer;
    // bin/dnsdist-ts execs node, so the child is the proxy: its CPU time (all threads) up to now.
    return { answer, all, cpu: cpuMsOf(child.pid) };
  } finally {
    clearInterval(timer);
    child.removeAllListeners('exit');
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    if (child.exitCode === null) child.kill('SIGTERM');
    await gone;
    probe.close();
  }
}

function cpuSummary(xs: number[]): string {
  return xs.some(Number.isNaN) ? '' : ` cpu ${median(xs).toFixed(0)} ms`;
}

function summary(xs: number[]): string {
  return `${median(xs).toFixed(0).padStart(6)} ms (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)})`;
}

async function main(): Promise<void> {
  const binaries: Array<[string, string]> = [['dnsdist-ts', BIN]];
  if (BEFORE !== '') binaries.push(['dnsdist-ts (--before)', BEFORE]);
  if (REFERENCE !== '' && existsSync(REFERENCE)) binaries.push(['dnsdist 1.7.3', REFERENCE]);
  const dir = mkdtempSync(join(tmpdir(), 'dts-startup-bench-'));
  const backend = await startResponder();
  console.log(
    `# ${RUNS} runs each; load average before: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}; bin ${BIN}`,
  );
  try {
    for (const cfg of WORKERS_ONLY ? [] : CONFIGS) {
      const checks = binaries.map((): number[] => []);
      const answers = binaries.map((): number[] => []);
      const checkCpu = binaries.map((): number[] => []);
      const answerCpu = binaries.map((): number[] => []);
      // Runs interleave the binaries, so that a change in load hits them alike.
      for (let i = 0; i < RUNS; i++) {
        for (const [b, [, bin]] of binaries.entries()) {
          const listen = await freePort();
          const file = join(dir, `${cfg.name.replace(/\W/g, '_')}-${b}-${i}.conf`);
          writeFileSync(file, await cfg.text(listen, backend.port));
          const c = await checkConfigMs(bin, file);
          checks[b]!.push(c.ms);
          checkCpu[b]!.push(c.cpu);
          const a = await firstAnswerMs(bin, file, listen);
          answers[b]!.push(a.ms);
          answerCpu[b]!.push(a.cpu);
        }
      }
      for (const [b, [label]] of binaries.entries()) {
        console.log(
          `${cfg.name.padEnd(18)} ${label.padEnd(20)} check-config ${summary(checks[b]!)}${cpuSummary(checkCpu[b]!)}   first answer ${summary(answers[b]!)}${cpuSummary(answerCpu[b]!)}`,
        );
      }
    }
    const tsBinaries = binaries.filter(([label]) => label.startsWith('dnsdist-ts'));
    for (const n of WORKERS) {
      const answers = tsBinaries.map((): number[] => []);
      const alls = tsBinaries.map((): number[] => []);
      const cpus = tsBinaries.map((): number[] => []);
      for (let i = 0; i < RUNS; i++) {
        for (const [b, [, bin]] of tsBinaries.entries()) {
          const listen = await freePort();
          const file = join(dir, `workers-${n}-${b}-${i}.conf`);
          writeFileSync(file, await CONFIGS[0]!.text(listen, backend.port));
          const t = await startupMs(bin, file, listen, n);
          answers[b]!.push(t.answer);
          alls[b]!.push(t.all);
          cpus[b]!.push(t.cpu);
        }
      }
      for (const [b, [label]] of tsBinaries.entries()) {
        console.log(
          `${`--workers ${n}`.padEnd(18)} ${label.padEnd(20)} first answer ${summary(answers[b]!)}   all ${n} answer ${summary(alls[b]!)}${cpuSummary(cpus[b]!)}`,
        );
      }
    }
  } finally {
    await backend.close();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    `# load average after: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
}

await main();
