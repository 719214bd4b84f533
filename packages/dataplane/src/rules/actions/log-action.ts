import { qtypeName, readId } from '@dnsdist-ts/dns';
import { DNSAction, type DNSActionCode } from '../../query/dns-action.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import { LogDestination, type LogDestinationOptions, wallClock } from '../log-destination.js';
import type { QueryAction } from '../rule-types.js';

export interface LogActionOptions extends LogDestinationOptions {
  /** With a file: write binary records (true, dnsdist's default) or text lines. */
  binary?: boolean;
}

const AF_INET = 2;
const AF_INET6 = 10;

/**
 * dnsdist's LogAction([filename [, binary [, append [, buffered
 * [, verboseOnly [, includeTimestamp]]]]]]): log every query it sees, then
 * go on to the next rule.
 *
 * Text lines read "Packet from 192.0.2.1:5353 for www.example.com. A with
 * id 4660", after "[seconds.nanoseconds] " with `includeTimestamp`. Without
 * a file they go to the info log, only in verbose mode unless `verboseOnly`
 * is false. Binary records (the default with a file) are dnsdist's: with
 * `includeTimestamp` a u64 seconds and u32 nanoseconds, then the query ID
 * as its two header bytes, the qname in wire form, the qtype (u16), the
 * address family (u16, 2 or 10), the 4 or 16 address bytes and the port
 * (network order); the u16/u32/u64 fields other than ID and port are
 * little-endian, as dnsdist writes them on x86.
 *
 * One deliberate difference: dnsdist prints the ID of text lines without
 * converting it from network byte order, so 0x1234 appears as 13330; this
 * prints the ID the client sent (4660).
 */
export class LogAction implements QueryAction {
  readonly #dest: LogDestination;
  readonly #binary: boolean;

  /** @throws LogFileOpenError when the file cannot be opened. */
  constructor(filename = '', options: LogActionOptions = {}) {
    this.#dest = new LogDestination(filename, options);
    this.#binary = options.binary ?? true;
  }

  apply(dq: DNSQuestion): DNSActionCode {
    const dest = this.#dest;
    if (dest.file && this.#binary) {
      dest.file.write(binaryRecord(dq, dest.includeTimestamp));
    } else if (dest.file || dest.infoLogEnabled) {
      const ts = dest.includeTimestamp ? LogDestination.textTimestamp(dq.receivedAt) : '';
      const view = dq.view;
      dest.line(
        `${ts}Packet from ${dq.remote.toStringWithPort()} for ${view.qnameAsDNSName().toString()} ${qtypeName(view.qtype)} with id ${readId(dq.packet)}`,
      );
    }
    return DNSAction.None;
  }

  /** Close and reopen the log file, for rotation (dnsdist 1.7's `reload()`). */
  reload(): void {
    this.#dest.reload();
  }

  /** Flush and close the log file. */
  close(): void {
    this.#dest.close();
  }

  toString(): string {
    return this.#dest.filename === '' ? 'log' : `log to ${this.#dest.filename}`;
  }
}

function binaryRecord(dq: DNSQuestion, includeTimestamp: boolean): Buffer {
  const name = dq.view.qnameAsDNSName().toWire();
  const address = dq.remote.bytes;
  const size = (includeTimestamp ? 12 : 0) + 2 + name.length + 2 + 2 + address.length + 2;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  if (includeTimestamp) {
    const { seconds, nanoseconds } = wallClock(dq.receivedAt);
    out.writeBigUInt64LE(BigInt(seconds), at);
    out.writeUInt32LE(nanoseconds, at + 8);
    at += 12;
  }
  out[at++] = dq.packet[0]!;
  out[at++] = dq.packet[1]!;
  out.set(name, at);
  at += name.length;
  out.writeUInt16LE(dq.view.qtype, at);
  out.writeUInt16LE(dq.remote.family === 4 ? AF_INET : AF_INET6, at + 2);
  at += 4;
  out.set(address, at);
  at += address.length;
  out.writeUInt16BE(dq.remote.port, at);
  return out;
}
