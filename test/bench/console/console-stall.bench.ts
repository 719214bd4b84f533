/**
 * What a console command costs the query path: starts dnsdist-ts
 * (bin/dnsdist-ts, answering every query itself with RCodeAction), sends
 * a UDP query every 2 ms, runs each console command below through
 * `bin/dnsdist-ts -e` (a separate process, so decrypting a large reply
 * does not stall the probe) and reports its wall time (client start-up
 * included), the slowest DNS answer meanwhile, how many probes went
 * unanswered, the reply size, and the proxy's RSS before, after and at
 * its peak (VmHWM, reset before each command through clear_refs).
 *
 *   pnpm exec tsx test/bench/console/console-stall.bench.ts [--bin path/to/dnsdist-ts] [--commands 'cmd1' 'cmd2' …]
 *
 * `--bin` runs another build (another worktree's bin/dnsdist-ts) for a before/after comparison.
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeKey } from '../../../packages/console/src/console/index.js';

const argv = process.argv.slice(2);
const BIN = argv.includes('--bin') ? argv[argv.indexOf('--bin') + 1]! : fileURLToPath(new URL('../../../bin/dnsdist-ts', import.meta.url));
const DEFAULT_COMMANDS = [
  '1',
  "string.rep('x', 9000000)",
  "string.rep('x', 100000000)",
  "print(string.rep('x', 9000000))",
  'local n = 0 for i = 1, 3e7 do n = n + 1 end return n',
  'while true do end',
];
const commands = argv.includes('--commands') ? argv.slice(argv.indexOf('--commands') + 1) : DEFAULT_COMMANDS;

async function freePort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function status(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

function query(id: number): Buffer {
  return Buffer.from([
    id >> 8,
    id & 0xff,
    1,
    0,
    0,
    1,
    0,
    0,
    0,
    0,
    0,
    0,
    7,
    ...Buffer.from('example'),
    3,
    ...Buffer.from('com'),
    0,
    0,
    1,
    0,
    1,
  ]);
}

/** `bin/dnsdist-ts -C conf -e command`: its standard output, or why it failed. */
function runClient(conf: string, command: string): Promise<string> {
  const client = spawn(BIN, ['-C', conf, '-e', command], { stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  let err = '';
  client.stdout.on('data', (d: Buffer) => chunks.push(d));
  client.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve) =>
    client.once('exit', (code) => resolve(code === 0 ? Buffer.concat(chunks).toString() : `(client exited ${code}: ${err.trim()})`)),
  );
}

async function main(): Promise<void> {
  const dnsPort = await freePort();
  const consolePort = await freePort();
  const key = makeKey();
  const dir = mkdtempSync(join(tmpdir(), 'dts-console-bench-'));
  const conf = join(dir, 'dnsdist.conf');
  writeFileSync(
    conf,
    [
      `setLocal("127.0.0.1:${dnsPort}")`,
      `controlSocket("127.0.0.1:${consolePort}")`,
      `setKey("${key}")`,
      'addAction(AllRule(), RCodeAction(DNSRCode.REFUSED))',
    ].join('\n'),
  );
  const child = spawn(BIN, ['--supervised', '--disable-syslog', '-C', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  while (!/Accepting control connections/.test(out)) await new Promise((r) => setTimeout(r, 50));
  const pid = child.pid!;

  const probe = dgram.createSocket('udp4');
  const sentAt = new Map<number, number>();
  let worst = 0;
  probe.on('message', (msg) => {
    const id = msg.readUInt16BE(0);
    const t = sentAt.get(id);
    if (t === undefined) return;
    sentAt.delete(id);
    worst = Math.max(worst, performance.now() - t);
  });
  let id = 0;
  const timer = setInterval(() => {
    id = (id + 1) & 0xffff;
    sentAt.set(id, performance.now());
    probe.send(query(id), dnsPort, '127.0.0.1');
  }, 2);

  process.stdout.write('command | wall ms | worst DNS answer ms | unanswered probes | reply bytes | RSS before → after MB | peak RSS MB\n');
  for (const command of commands) {
    await new Promise((r) => setTimeout(r, 500));
    sentAt.clear();
    worst = 0;
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    const before = status(pid, 'VmRSS');
    const t0 = performance.now();
    const reply = await runClient(conf, command);
    const wall = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 200));
    const lost = [...sentAt.values()].filter((t) => t < performance.now() - 150).length;
    const after = status(pid, 'VmRSS');
    const peak = status(pid, 'VmHWM');
    const shown = reply.length > 80 ? `${JSON.stringify(reply.slice(0, 40))}…${JSON.stringify(reply.slice(-60))}` : JSON.stringify(reply);
    process.stdout.write(
      `${command} | ${wall.toFixed(0)} | ${worst.toFixed(1)} | ${lost} | ${Buffer.byteLength(reply)} ${shown} | ${before} → ${after} | ${peak}\n`,
    );
  }
  clearInterval(timer);
  probe.close();
  // SIGTERM while a command loops: sent once the command has logged that it started.
  const looping = spawn(BIN, ['-C', conf, '-e', 'infolog("bench loop started") while true do end'], { stdio: 'ignore' });
  while (!out.includes('bench loop started')) await new Promise((r) => setTimeout(r, 20));
  const t0 = performance.now();
  child.kill('SIGTERM');
  const exited = await Promise.race([
    new Promise<boolean>((r) => child.once('exit', () => r(true))),
    new Promise<boolean>((r) => setTimeout(() => r(false), 10_000)),
  ]);
  process.stdout.write(
    exited
      ? `SIGTERM to exit, during 'while true do end': ${(performance.now() - t0).toFixed(0)} ms\n`
      : "SIGTERM during 'while true do end': still running after 10 s (killed)\n",
  );
  child.kill('SIGKILL');
  looping.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}

void main();
