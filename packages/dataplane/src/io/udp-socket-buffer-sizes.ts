import { readFileSync } from 'node:fs';

/**
 * setUDPSocketBufferSizes(recv, send): the SO_RCVBUF and SO_SNDBUF the UDP
 * listeners ask for (0: not set). A listener under a flood drops what
 * arrives while its thread is not reading; a larger receive buffer rides
 * out longer pauses (a garbage collection, a preemption).
 */
export interface UdpSocketBufferSizes {
  receive: number;
  send: number;
}

/**
 * What this network namespace gives a new UDP socket (net.core.rmem_default /
 * wmem_default) and the most a socket may ask for (rmem_max / wmem_max);
 * undefined where /proc does not say.
 */
export interface SystemUdpBufferDefaults {
  receive: number | undefined;
  send: number | undefined;
  receiveMax?: number | undefined;
  sendMax?: number | undefined;
}

/** What one listener's socket is asked for, and what to log about it. */
export interface UdpBufferRequest {
  receiveBufferSize: number;
  sendBufferSize: number;
  warnings: string[];
  /**
   * The sizes asked for because setUDPSocketBufferSizes left that side unset
   * (0 when nothing is raised): the system's maximum, as dnsdist does since 1.9.
   */
  raisedReceive: number;
  raisedSend: number;
}

/**
 * The options for one listener's socket.
 *
 * A size that is set is, as in dnsdist 1.7, only ever raised: one below
 * what a new socket already has is left alone, with dnsdist's warning ("Not
 * decreasing socket buffer size from 212992 to 1000").
 *
 * A side left unset (0) asks for the system's maximum when that is above
 * the default, as dnsdist does since 1.9 (1.7 kept the default). A data-plane
 * worker's event loop pauses longer than a dnsdist thread (a collection, a
 * preemption by the processes it just woke), and a deeper queue lets a
 * flooded listener ride that out instead of dropping legitimate queries.
 * As in dnsdist 1.9 there is no switch back: a size that is set is used
 * instead. The kernel caps what is asked at rmem_max / wmem_max and reports
 * twice the value it keeps.
 */
export function udpBufferRequest(sizes: UdpSocketBufferSizes, defaults: SystemUdpBufferDefaults): UdpBufferRequest {
  const warnings: string[] = [];
  const pick = (requested: number, current: number | undefined): number => {
    if (current !== undefined && current > requested) {
      warnings.push(`Not decreasing socket buffer size from ${current} to ${requested}`);
      return 0;
    }
    return requested;
  };
  const raise = (current: number | undefined, max: number | undefined): number =>
    max !== undefined && current !== undefined && max > current ? max : 0;
  const raisedReceive = sizes.receive > 0 ? 0 : raise(defaults.receive, defaults.receiveMax);
  const raisedSend = sizes.send > 0 ? 0 : raise(defaults.send, defaults.sendMax);
  return {
    receiveBufferSize: sizes.receive > 0 ? pick(sizes.receive, defaults.receive) : raisedReceive,
    sendBufferSize: sizes.send > 0 ? pick(sizes.send, defaults.send) : raisedSend,
    warnings,
    raisedReceive,
    raisedSend,
  };
}

/** The lines dnsdist (1.9 and later) logs at start-up for a frontend whose buffers it raised to the maximum. */
export function raisedBufferLines(request: UdpBufferRequest, address: string): string[] {
  const lines: string[] = [];
  if (request.raisedSend > 0) lines.push(`Raised send buffer to ${request.raisedSend} for frontend address '${address}'`);
  if (request.raisedReceive > 0) lines.push(`Raised receive buffer to ${request.raisedReceive} for address '${address}'`);
  return lines;
}

/** Read once per process; undefined where /proc does not say (a set size is then asked as given, an unset one left alone). */
export function readSystemUdpBufferDefaults(read: (path: string) => string = (p) => readFileSync(p, 'utf8')): SystemUdpBufferDefaults {
  const value = (path: string): number | undefined => {
    try {
      const n = Number(read(path).trim());
      return Number.isInteger(n) && n > 0 ? n : undefined;
    } catch {
      return undefined;
    }
  };
  return {
    receive: value('/proc/sys/net/core/rmem_default'),
    send: value('/proc/sys/net/core/wmem_default'),
    receiveMax: value('/proc/sys/net/core/rmem_max'),
    sendMax: value('/proc/sys/net/core/wmem_max'),
  };
}
