import { readFileSync } from 'node:fs';

/**
 * setUDPSocketBufferSizes(recv, send): the SO_RCVBUF and SO_SNDBUF the UDP
 * listeners ask for (0: the system's default). A listener under a flood
 * drops what arrives while its thread is not reading; a larger receive
 * buffer rides out longer pauses (a garbage collection, a preemption).
 */
export interface UdpSocketBufferSizes {
  receive: number;
  send: number;
}

/** The sizes a new UDP socket starts with (net.core.rmem_default / wmem_default of this network namespace). */
export interface SystemUdpBufferDefaults {
  receive: number | undefined;
  send: number | undefined;
}

/** What one listener's socket is asked for, and the warnings to log for what is not asked. */
export interface UdpBufferRequest {
  receiveBufferSize: number;
  sendBufferSize: number;
  warnings: string[];
}

/**
 * The options for one listener's socket. As dnsdist 1.7, a size is only
 * ever raised: one below what a new socket already has is left alone, with
 * dnsdist's warning ("Not decreasing socket buffer size from 212992 to
 * 1000"). The kernel caps what is asked at net.core.rmem_max / wmem_max
 * and reports twice the value it keeps.
 */
export function udpBufferRequest(sizes: UdpSocketBufferSizes, defaults: SystemUdpBufferDefaults): UdpBufferRequest {
  const warnings: string[] = [];
  const pick = (requested: number, current: number | undefined): number => {
    if (requested <= 0) return 0;
    if (current !== undefined && current > requested) {
      warnings.push(`Not decreasing socket buffer size from ${current} to ${requested}`);
      return 0;
    }
    return requested;
  };
  return { receiveBufferSize: pick(sizes.receive, defaults.receive), sendBufferSize: pick(sizes.send, defaults.send), warnings };
}

/** Read once per process when a size is configured; undefined where /proc does not say (the size is then asked as given). */
export function readSystemUdpBufferDefaults(read: (path: string) => string = (p) => readFileSync(p, 'utf8')): SystemUdpBufferDefaults {
  const value = (path: string): number | undefined => {
    try {
      const n = Number(read(path).trim());
      return Number.isInteger(n) && n > 0 ? n : undefined;
    } catch {
      return undefined;
    }
  };
  return { receive: value('/proc/sys/net/core/rmem_default'), send: value('/proc/sys/net/core/wmem_default') };
}
