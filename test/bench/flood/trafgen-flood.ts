/**
 * The attacker of the flood benchmark: trafgen in the peer namespace,
 * sending DNS queries (A www.example.test, random IDs and source ports)
 * from a range of source addresses as fast as it can, straight onto the
 * veth (PF_PACKET ring, no socket stack on the sending side).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VethPair } from '../../support/netns.js';

export interface TrafgenFlood {
  /** Stop it; resolves with the packets it sent and the rate it reached. */
  stop(): Promise<{ packets: number; seconds: number; pps: number }>;
}

function mac(path: string): string {
  return readFileSync(path, 'utf8').trim();
}

/** The trafgen packet: Ethernet, IPv4 from `first`..`last` (last byte), UDP to `port`, a DNS query. */
function config(veth: VethPair, dstMac: string, srcMac: string, first: string, last: string, port: number): string {
  const base = first.split('.').map(Number);
  const lastByte = Number(last.split('.')[3]);
  const label = (s: string) => `0x${s.length.toString(16).padStart(2, '0')}, "${s}"`;
  const qname = ['www', 'example', 'test'].map(label).join(', ');
  return (
    `{ eth(da=${dstMac}, sa=${srcMac}), ` +
    `ipv4(sa=${first}, da=${veth.hostAddr}, ttl=64, sa[3]=dinc(${base[3]}, ${lastByte})), ` +
    `udp(sp=drnd(), dp=${port}), ` +
    // DNS header: random ID, RD, one question; then the question (A, IN).
    `drnd(2), 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, ${qname}, 0x00, 0x00, 0x01, 0x00, 0x01 }\n`
  );
}

/** Start flooding `veth.hostAddr:port` from the peer addresses `first`..`last`. */
export function startTrafgenFlood(veth: VethPair, port: number, first: string, last: string): TrafgenFlood {
  const dir = mkdtempSync(join(tmpdir(), 'dts-trafgen-'));
  const file = join(dir, 'flood.cfg');
  const dstMac = mac(`/sys/class/net/${veth.hostIf}/address`);
  // The peer's MAC is read inside its namespace.
  const srcMacCmd = spawn('ip', ['netns', 'exec', veth.ns, 'cat', `/sys/class/net/${veth.peerIf}/address`]);
  let srcMac = '';
  const ready = new Promise<void>((resolve) => {
    srcMacCmd.stdout.on('data', (d: Buffer) => (srcMac += d.toString()));
    srcMacCmd.on('close', () => resolve());
  });
  let child: ChildProcess | undefined;
  let output = '';
  const started = ready.then(() => {
    writeFileSync(file, config(veth, dstMac, srcMac.trim(), first, last, port));
    // Its own process group: trafgen forks a worker per CPU, and only a signal to the group stops them all.
    child = spawn('ip', ['netns', 'exec', veth.ns, 'trafgen', '--dev', veth.peerIf, '--conf', file, '--cpus', '1', '-t', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  });
  const t0 = performance.now();
  return {
    async stop() {
      await started;
      const c = child!;
      const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
      process.kill(-c.pid!, 'SIGINT');
      await closed;
      rmSync(dir, { recursive: true, force: true });
      const seconds = (performance.now() - t0) / 1000;
      const packets = Number(/(\d+) packets outgoing/.exec(output)?.[1] ?? NaN);
      return { packets, seconds, pps: packets / seconds };
    },
  };
}
