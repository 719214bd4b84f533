import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';
import { randomInt } from 'node:crypto';
import { DNSName, formatAddress, makeLocalProxyProtocolHeader } from '@dnsdist-ts/dns';
import type { DownstreamServer, DownstreamServerConfig } from './downstream-server.js';
import { checkOverDoh } from './doh-health-check.js';
import { settleCheckOnce } from './health-check-outcome.js';

/** A health-check query: header with RD set, one question. */
export function buildCheckQuery(id: number, name: string, qtype: number, qclass: number): Buffer {
  const wire = DNSName.fromString(name).toWire();
  const buf = Buffer.alloc(12 + wire.length + 4);
  buf.writeUInt16BE(id, 0);
  buf.writeUInt16BE(0x0100, 2);
  buf.writeUInt16BE(1, 4);
  wire.copy(buf, 12);
  buf.writeUInt16BE(qtype, 12 + wire.length);
  buf.writeUInt16BE(qclass, 14 + wire.length);
  return buf;
}

/**
 * Judge a health-check answer as dnsdist does: same ID, a response, the same
 * question, not SERVFAIL; with mustResolve also not NXDOMAIN or REFUSED.
 */
export function checkAnswerIsHealthy(query: Buffer, answer: Buffer, mustResolve: boolean): boolean {
  if (answer.length < query.length) return false;
  if (answer.readUInt16BE(0) !== query.readUInt16BE(0)) return false;
  const flags = answer.readUInt16BE(2);
  if ((flags & 0x8000) === 0) return false;
  if (answer.readUInt16BE(4) !== 1) return false;
  // Compare the question section byte for byte, names case-insensitively.
  for (let i = 12; i < query.length; i++) {
    const a = answer[i]!;
    const q = query[i]!;
    if (a !== q && (a | 0x20) !== (q | 0x20)) return false;
  }
  const rcode = flags & 0x0f;
  if (rcode === 2) return false;
  if (mustResolve && (rcode === 3 || rcode === 5)) return false;
  return true;
}

function checkOverUdp(server: DownstreamServer, query: Buffer): Promise<boolean> {
  const { bytes, port } = server.config.address;
  return new Promise((resolve) => {
    const socket = dgram.createSocket(bytes.length === 4 ? 'udp4' : 'udp6');
    const close = (): void => {
      try {
        socket.close();
      } catch {
        // already closed
      }
    };
    const finish = settleCheckOnce(server.config.checkTimeout, close, resolve);
    socket.on('error', () => finish(false));
    socket.on('message', (msg) => {
      if (msg.length >= 2 && msg.readUInt16BE(0) === query.readUInt16BE(0)) {
        finish(checkAnswerIsHealthy(query, msg, server.config.mustResolve));
      }
    });
    // A proxy protocol backend expects a header on everything: checks carry a LOCAL one, as dnsdist's do.
    const datagram = server.config.useProxyProtocol === true ? Buffer.concat([makeLocalProxyProtocolHeader(), query]) : query;
    socket.send(datagram, port, formatAddress(bytes), (err) => {
      if (err) finish(false);
    });
  });
}

function checkOverTcp(server: DownstreamServer, query: Buffer): Promise<boolean> {
  const { bytes, port } = server.config.address;
  return new Promise((resolve) => {
    const host = formatAddress(bytes);
    const tlsCtx = server.config.tls;
    const socket = tlsCtx ? tls.connect({ ...tlsCtx.connectOptions(host), port }) : net.connect({ host, port });
    let buf = Buffer.alloc(0);
    const finish = settleCheckOnce(server.config.checkTimeout, () => socket.destroy(), resolve);
    let secured = false;
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // Kept for the log line that marks the backend down: a TLS backend failing its certificate check says why.
      if (tlsCtx && !secured) server.lastCheckFailure = `TLS connection failed: ${tlsCtx.describeFailure(err)}`;
      finish(false);
    });
    socket.on('close', () => finish(false));
    socket.on(tlsCtx ? 'secureConnect' : 'connect', () => {
      secured = true;
      server.lastCheckFailure = undefined;
      const frame = Buffer.alloc(query.length + 2);
      frame.writeUInt16BE(query.length, 0);
      query.copy(frame, 2);
      if (server.config.useProxyProtocol === true) socket.write(makeLocalProxyProtocolHeader());
      socket.write(frame);
    });
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        finish(checkAnswerIsHealthy(query, buf.subarray(2, 2 + buf.readUInt16BE(0)), server.config.mustResolve));
      }
    });
  });
}

/** A checkFunction failed (a Lua error, a bad return value): the check counts as failed. */
export class CheckFunctionError extends Error {
  constructor(server: string, reason: string) {
    super(`Error in the checkFunction of backend ${server}: ${reason}`);
    this.name = 'CheckFunctionError';
  }
}

/**
 * The health-check query for a backend: its checkName/checkType/checkClass
 * with RD set, or what its checkFunction made of them (question and header flags).
 * @throws CheckFunctionError when the checkFunction fails.
 */
export function makeCheckQuery(config: DownstreamServerConfig, id: number, serverName: string): Buffer {
  const fn = config.checkFunction;
  if (!fn) return buildCheckQuery(id, config.checkName, config.checkType, config.checkClass);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(0x0100, 2);
  let q;
  try {
    q = fn({ name: config.checkName, qtype: config.checkType, qclass: config.checkClass }, header);
  } catch (err) {
    throw new CheckFunctionError(serverName, (err as Error).message ?? String(err));
  }
  let query: Buffer;
  try {
    query = buildCheckQuery(id, q.name, q.qtype, q.qclass);
  } catch (err) {
    throw new CheckFunctionError(serverName, `it returned a question that cannot be sent (${(err as Error).message})`);
  }
  query.writeUInt16BE(header.readUInt16BE(2), 2);
  return query;
}

/** Send one health-check query to a backend; resolves to its verdict, rejects with CheckFunctionError. */
export function runHealthCheck(server: DownstreamServer): Promise<boolean> {
  const c = server.config;
  let query: Buffer;
  try {
    query = makeCheckQuery(c, randomInt(0, 65536), server.name);
  } catch (err) {
    return Promise.reject(err as Error);
  }
  if (c.doh !== undefined) return checkOverDoh(server, query);
  return server.streamOnly ? checkOverTcp(server, query) : checkOverUdp(server, query);
}

/**
 * Rise/fall bookkeeping for one backend: down after maxCheckFailures
 * consecutive failures, up after `rise` consecutive successes. Returns the
 * new state when it changed.
 */
export class HealthState {
  #failures = 0;
  #successes = 0;

  record(server: DownstreamServer, ok: boolean, initial: boolean): boolean | undefined {
    const c = server.config;
    if (initial) {
      this.#failures = ok ? 0 : 1;
      this.#successes = ok ? 1 : 0;
      const changed = server.upStatus !== ok;
      server.upStatus = ok;
      return changed || initial ? ok : undefined;
    }
    if (ok) {
      this.#failures = 0;
      this.#successes++;
      if (!server.upStatus && this.#successes >= c.rise) {
        server.upStatus = true;
        return true;
      }
    } else {
      this.#successes = 0;
      this.#failures++;
      if (server.upStatus && this.#failures >= c.maxCheckFailures) {
        server.upStatus = false;
        return false;
      }
    }
    return undefined;
  }
}
