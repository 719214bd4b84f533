import { qtypeName, RCODE_MASK, rcodeName, readFlags, readId } from '@dnsdist-ts/dns';
import { DNSResponseAction, type DNSResponseActionCode } from '../../query/dns-action.js';
import type { DNSResponse } from '../../query/dns-response.js';
import { LogDestination, type LogDestinationOptions } from '../log-destination.js';
import type { ResponseAction } from '../rule-types.js';

/**
 * dnsdist's LogResponseAction([filename [, append [, buffered
 * [, verboseOnly [, includeTimestamp]]]]]): log a text line per response,
 * "Answer to 192.0.2.1:5353 for www.example.com. A (Non-Existent domain)
 * with id 4660", then go on to the next rule. Without a file the line goes
 * to the info log, only in verbose mode unless `verboseOnly` is false.
 * As in LogAction, the ID is printed as the client sent it, where dnsdist
 * prints it byte-swapped.
 */
export class LogResponseAction implements ResponseAction {
  readonly #dest: LogDestination;

  /** @throws LogFileOpenError when the file cannot be opened. */
  constructor(filename = '', options: LogDestinationOptions = {}) {
    this.#dest = new LogDestination(filename, options);
  }

  applyResponse(dr: DNSResponse): DNSResponseActionCode {
    const dest = this.#dest;
    if (dest.file || dest.infoLogEnabled) {
      const dq = dr.question;
      const ts = dest.includeTimestamp ? LogDestination.textTimestamp(dq.receivedAt) : '';
      const rcode = rcodeName(readFlags(dr.packet) & RCODE_MASK);
      dest.line(
        `${ts}Answer to ${dq.remote.toStringWithPort()} for ${dq.view.qnameAsDNSName().toString()} ${qtypeName(dq.view.qtype)} (${rcode}) with id ${readId(dr.packet)}`,
      );
    }
    return DNSResponseAction.None;
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
