/**
 * UDP echo server on the native recvmmsg/sendmmsg endpoint vs on node:dgram,
 * each driven by dnsperf on 127.0.0.1 for a bounded time. The servers do
 * the least a proxy does per query: look at the datagram, flip QR, send it
 * back to its source. Reported: answered queries per second, and server
 * CPU (user + system, from process.cpuUsage) per datagram answered, which
 * is the figure that holds up on a loaded machine where the load generator
 * competes for the same cores.
 *
 * Run: pnpm exec tsx test/bench/proxy-io/udp-echo.bench.ts
 * Env: BENCH_SECONDS (per measured run, default 5, at most 10),
 *      BENCH_CLIENTS (dnsperf -c, default 8), BENCH_OUTSTANDING (dnsperf -q, default 256).
 * Without dnsperf, a Node generator in a child process stands in for it.
 */
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNativeUdpEndpoint, nativeUdpAvailable } from '../../../packages/dataplane/src/io/native-udp-endpoint.js';

const SECONDS = Math.min(10, Number(process.env.BENCH_SECONDS ?? 5));
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 8);
const OUTSTANDING = Number(process.env.BENCH_OUTSTANDING ?? 256);
const DNSPERF = '/usr/bin/dnsperf';

interface EchoServer {
  port: number;
  answered(): number;
  detail(): string;
  close(): Promise<void>;
}

async function dgramServer(): Promise<EchoServer> {
  const sock = createSocket({ type: 'udp4', recvBufferSize: 1 << 22, sendBufferSize: 1 << 22 });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  let answered = 0;
  sock.on('message', (msg, rinfo) => {
    msg[2]! |= 0x80;
    sock.send(msg, rinfo.port, rinfo.address);
    answered++;
  });
  return {
    port: sock.address().port,
    answered: () => answered,
    detail: () => '',
    close: () => new Promise((r) => sock.close(() => r())),
  };
}

async function nativeServer(): Promise<EchoServer> {
  const ep = createNativeUdpEndpoint({ address: '127.0.0.1', port: 0, receiveBufferSize: 1 << 22, sendBufferSize: 1 << 22 });
  let answered = 0;
  ep.onDatagram((data, length, from, fromPort) => {
    data[2]! |= 0x80;
    ep.send(data, length, from, fromPort);
    answered++;
  });
  return {
    port: ep.localPort,
    answered: () => answered,
    detail: () =>
      `${(ep.datagrams / Math.max(1, ep.batches)).toFixed(1)} datagrams/recv batch, ${(ep.sent / Math.max(1, ep.sendCalls)).toFixed(1)}/sendmmsg, ${ep.sendErrors} send errors`,
    close: () => ep.close(),
  };
}

/** A stand-in for dnsperf: keeps OUTSTANDING queries in flight from a child process. */
const NODE_GENERATOR = `
const dgram = require('node:dgram');
const [port, seconds, window] = process.argv.slice(1).map(Number);
const s = dgram.createSocket('udp4');
const q = Buffer.from('0000010000010000000000000765786d706c6503636f6d0000010001', 'hex');
let done = 0;
s.on('message', () => { done++; s.send(q, port, '127.0.0.1'); });
s.bind(0, '127.0.0.1', () => { for (let i = 0; i < window; i++) s.send(q, port, '127.0.0.1'); });
setTimeout(() => { console.log('Queries per second: ' + (done / seconds).toFixed(0)); process.exit(0); }, seconds * 1000);
`;

function drive(port: number, seconds: number, queryFile: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const [cmd, args] = existsSync(DNSPERF)
      ? [
          DNSPERF,
          [
            '-s',
            '127.0.0.1',
            '-p',
            String(port),
            '-d',
            queryFile,
            '-l',
            String(seconds),
            '-c',
            String(CLIENTS),
            '-q',
            String(OUTSTANDING),
            '-t',
            '2',
          ],
        ]
      : [process.execPath, ['-e', NODE_GENERATOR, String(port), String(seconds), String(OUTSTANDING)]];
    execFile(cmd, args, { timeout: (seconds + 15) * 1000 }, (err, stdout) => {
      if (err) return reject(err);
      const m = /Queries per second:\s+([\d.]+)/.exec(stdout);
      if (!m) return reject(new Error(`no rate in load generator output:\n${stdout}`));
      resolve(Number(m[1]));
    });
  });
}

interface Result {
  qps: number;
  cpuUsPerDatagram: number;
  detail: string;
}

async function measure(make: () => Promise<EchoServer>, queryFile: string): Promise<Result> {
  const server = await make();
  try {
    await drive(server.port, 1, queryFile); // warm-up: JIT, socket buffers
    const before = server.answered();
    const cpu0 = process.cpuUsage();
    const qps = await drive(server.port, SECONDS, queryFile);
    const cpu = process.cpuUsage(cpu0);
    const answered = server.answered() - before;
    return { qps, cpuUsPerDatagram: (cpu.user + cpu.system) / Math.max(1, answered), detail: server.detail() };
  } finally {
    await server.close();
  }
}

async function main(): Promise<void> {
  if (!nativeUdpAvailable()) throw new Error("the proxy's UDP addon is not built: run 'make native' first");
  const dir = mkdtempSync(join(tmpdir(), 'dts-udp-bench-'));
  try {
    const queryFile = join(dir, 'queries.txt');
    const names = ['example.com A', 'www.example.org AAAA', 'mail.example.net MX', 'example.com TXT', 'ns1.example.com A'];
    writeFileSync(queryFile, names.join('\n') + '\n');
    const generator = existsSync(DNSPERF) ? `dnsperf -c ${CLIENTS} -q ${OUTSTANDING}` : `node generator, ${OUTSTANDING} in flight`;
    console.log(`UDP echo on 127.0.0.1, ${SECONDS} s per run after 1 s warm-up, load: ${generator}`);
    const dgram = await measure(dgramServer, queryFile);
    const native = await measure(nativeServer, queryFile);
    console.log('| server | answered qps | server CPU µs/datagram | notes |');
    console.log('|---|---:|---:|---|');
    console.log(`| node:dgram | ${dgram.qps.toFixed(0)} | ${dgram.cpuUsPerDatagram.toFixed(2)} | |`);
    console.log(`| native | ${native.qps.toFixed(0)} | ${native.cpuUsPerDatagram.toFixed(2)} | ${native.detail} |`);
    console.log(
      `native vs dgram: ${(native.qps / dgram.qps).toFixed(2)}x the rate, ${(dgram.cpuUsPerDatagram / native.cpuUsPerDatagram).toFixed(2)}x less CPU per datagram`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
