import { questionMatches } from '@dnsdist-ts/dns';
import type { DNSQuestion } from '../query/dns-question.js';

const RCODE_NOERROR = 0;
const RCODE_NXDOMAIN = 3;

/**
 * Is `data[0..length)` the answer to `dq` (dnsdist's responseContentMatches)?
 * A response (QR set) with the same question. An answer without a question
 * section is accepted when its RCODE says the backend could not answer it
 * (FORMERR, SERVFAIL, NOTIMP, REFUSED…), or always with
 * setAllowEmptyResponse(true).
 */
export function answerMatchesQuestion(data: Uint8Array, length: number, dq: DNSQuestion, allowEmptyResponse: boolean): boolean {
  if (length < 12 || (data[2]! & 0x80) === 0) return false;
  const qdcount = (data[4]! << 8) | data[5]!;
  if (qdcount === 0) {
    const rcode = data[3]! & 0x0f;
    return allowEmptyResponse || (rcode !== RCODE_NOERROR && rcode !== RCODE_NXDOMAIN);
  }
  return questionMatches(data, length, dq.view);
}
