/**
 * Ports for test listeners. A port the kernel hands out for port 0 comes
 * from its ephemeral range, which every outgoing connection and every
 * port-0 bind of the other test workers draws from too: between "found
 * free" and "bound by the proxy" one of them can take it (seen in the full
 * suite as EADDRINUSE on the TCP side). So the port is drawn at random from
 * below the ephemeral range, where only explicit binds go, and checked free
 * for both UDP and TCP on the host before it is handed out. Ports that
 * fetch refuses to connect to (the WHATWG "bad port" list; 10080 is the one
 * in this range) are never handed out: a test that talks HTTP to its
 * listener with fetch would fail with "bad port" (seen once in CI, against
 * the CrowdSec Local API).
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { readFileSync } from 'node:fs';

/** The lowest port of the kernel's ephemeral range (32768 unless changed). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 2048 ? low : 32768;
  } catch {
    return 32768;
  }
}

function bindsUdp(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind(port, host, () => s.close(() => resolve(true)));
  });
}

function bindsTcp(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Ports at or above 10000 that fetch will not connect to. */
const FETCH_BAD_PORTS: ReadonlySet<number> = new Set([10080]);

/** A port on `host` free for both UDP and TCP, outside the ephemeral range. */
export async function freePort(host = '127.0.0.1', random: () => number = Math.random): Promise<number> {
  const low = 10_000;
  const high = ephemeralLow();
  for (let attempt = 0; attempt < 500; attempt++) {
    const port = low + Math.floor(random() * (high - low));
    if (FETCH_BAD_PORTS.has(port)) continue;
    if ((await bindsTcp(port, host)) && (await bindsUdp(port, host))) return port;
  }
  throw new Error(`no port free for UDP and TCP on ${host} in ${low}-${high - 1} after 500 tries`);
}
