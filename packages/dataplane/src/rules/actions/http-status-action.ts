import { type ResponseHeaderOptions } from '@dnsdist-ts/dns';
import { DNSAction, type DNSActionCode } from '../../query/dns-action.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { QueryAction } from '../rule-types.js';

/**
 * dnsdist's HTTPStatusAction(status, body [, contentType [, options]]):
 * answer a DoH query with this HTTP response instead of a DNS message (a
 * 3xx status redirects to `body`). Other transports' queries go on to the
 * next rule.
 */
export class HTTPStatusAction implements QueryAction {
  readonly status: number;
  readonly body: Buffer;
  readonly contentType: string;
  readonly #options: ResponseHeaderOptions;

  /** @throws Error for a status outside 100-999. */
  constructor(status: number, body: Buffer, contentType = '', options: ResponseHeaderOptions = {}) {
    if (!Number.isInteger(status) || status < 100 || status > 999) {
      throw new Error(`HTTPStatusAction: HTTP status ${status} is not a three-digit code (100-999)`);
    }
    this.status = status;
    this.body = body;
    this.contentType = contentType;
    this.#options = { ...options };
  }

  apply(dq: DNSQuestion): DNSActionCode {
    if (dq.http === undefined) return DNSAction.None;
    dq.http.setResponse(this.status, this.body, this.contentType);
    // The DNS message is not sent, but the answer counts as one: QR set, header bits as configured.
    const p = dq.packet;
    p[2] = p[2]! | 0x80;
    const o = this.#options;
    if (o.aa !== undefined) p[2] = o.aa ? p[2]! | 0x04 : p[2]! & ~0x04;
    if (o.ad !== undefined) p[3] = o.ad ? p[3]! | 0x20 : p[3]! & ~0x20;
    if (o.ra !== undefined) p[3] = o.ra ? p[3]! | 0x80 : p[3]! & ~0x80;
    return DNSAction.HeaderModify;
  }

  toString(): string {
    return `return an HTTP status of ${this.status}`;
  }
}
