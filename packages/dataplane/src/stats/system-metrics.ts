import { readdirSync, readFileSync } from 'node:fs';

/**
 * Process and kernel figures dnsdist reports next to its own counters
 * (cpu-*, fd-usage, real-memory-usage, udp-* from /proc/net/snmp). Read on
 * demand, never on the query path. Missing /proc entries read as 0.
 */
function readProc(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Named counters of one protocol line pair in /proc/net/snmp or snmp6. */
function snmpCounters(text: string, protocol: string): Map<string, number> {
  const out = new Map<string, number>();
  const lines = text.split('\n').filter((l) => l.startsWith(`${protocol}:`));
  if (lines.length >= 2) {
    const names = lines[0]!.split(/\s+/).slice(1);
    const values = lines[1]!.split(/\s+/).slice(1);
    names.forEach((n, i) => out.set(n, Number(values[i] ?? 0)));
  }
  return out;
}

function snmp6Counters(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v) out.set(k, Number(v));
  }
  return out;
}

export interface SystemMetrics {
  cpuUserMsec: number;
  cpuSysMsec: number;
  cpuIowait: number;
  cpuSteal: number;
  fdUsage: number;
  realMemoryUsage: number;
  udpInErrors: number;
  udpNoPortErrors: number;
  udpRecvbufErrors: number;
  udpSndbufErrors: number;
  udpInCsumErrors: number;
  udp6InErrors: number;
  udp6NoPortErrors: number;
  udp6RecvbufErrors: number;
  udp6SndbufErrors: number;
  udp6InCsumErrors: number;
  tcpListenOverflows: number;
}

export function readSystemMetrics(): SystemMetrics {
  const usage = process.cpuUsage();
  const stat = readProc('/proc/stat').split('\n')[0]?.split(/\s+/) ?? [];
  let fds = 0;
  try {
    fds = readdirSync('/proc/self/fd').length;
  } catch {
    fds = 0;
  }
  const udp = snmpCounters(readProc('/proc/net/snmp'), 'Udp');
  const udp6 = snmp6Counters(readProc('/proc/net/snmp6'));
  const tcpExt = snmpCounters(readProc('/proc/net/netstat'), 'TcpExt');
  return {
    cpuUserMsec: Math.floor(usage.user / 1000),
    cpuSysMsec: Math.floor(usage.system / 1000),
    cpuIowait: Number(stat[5] ?? 0),
    cpuSteal: Number(stat[8] ?? 0),
    fdUsage: fds,
    realMemoryUsage: process.memoryUsage.rss(),
    udpInErrors: udp.get('InErrors') ?? 0,
    udpNoPortErrors: udp.get('NoPorts') ?? 0,
    udpRecvbufErrors: udp.get('RcvbufErrors') ?? 0,
    udpSndbufErrors: udp.get('SndbufErrors') ?? 0,
    udpInCsumErrors: udp.get('InCsumErrors') ?? 0,
    udp6InErrors: udp6.get('Udp6InErrors') ?? 0,
    udp6NoPortErrors: udp6.get('Udp6NoPorts') ?? 0,
    udp6RecvbufErrors: udp6.get('Udp6RcvbufErrors') ?? 0,
    udp6SndbufErrors: udp6.get('Udp6SndbufErrors') ?? 0,
    udp6InCsumErrors: udp6.get('Udp6InCsumErrors') ?? 0,
    tcpListenOverflows: tcpExt.get('ListenOverflows') ?? 0,
  };
}
