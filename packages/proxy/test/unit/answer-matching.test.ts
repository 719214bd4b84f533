/**
 * answerMatchesQuestion: which backend datagrams count as the answer to a
 * query (dnsdist's responseContentMatches). Everything else is left for
 * the real answer and counted as non-compliant by the proxy.
 */
import dnsPacket from 'dns-packet';
import { answerMatchesQuestion } from '@dnsdist-ts/dataplane/backend/answer-matches.js';
import { makeQuery } from '../rules/query-fixture.js';

const dq = makeQuery({ name: 'www.Example.com', type: 'AAAA' });

function response(
  options: { name?: string; type?: string; qclass?: string; rcode?: number; noQuestion?: boolean; qr?: boolean } = {},
): Buffer {
  const packet = dnsPacket.encode({
    type: 'response',
    id: 1,
    flags: options.rcode ?? 0,
    questions: options.noQuestion
      ? []
      : [{ name: options.name ?? 'www.example.com', type: (options.type ?? 'AAAA') as 'AAAA', class: (options.qclass ?? 'IN') as 'IN' }],
  });
  if (options.qr === false) packet[2] = packet[2]! & 0x7f;
  return packet;
}

const matches = (p: Buffer, allowEmpty = false): boolean => answerMatchesQuestion(p, p.length, dq, allowEmpty);

describe('answerMatchesQuestion', () => {
  it('accepts a response with the same name (any case), type and class', () => {
    expect(matches(response())).toBe(true);
    expect(matches(response({ name: 'WWW.EXAMPLE.COM' }))).toBe(true);
  });

  it('refuses another name, type or class, a datagram without QR, or one shorter than a header', () => {
    expect(matches(response({ name: 'www.example.org' }))).toBe(false);
    expect(matches(response({ name: 'ww.example.com' }))).toBe(false);
    expect(matches(response({ type: 'A' }))).toBe(false);
    expect(matches(response({ qclass: 'CH' }))).toBe(false);
    expect(matches(response({ qr: false }))).toBe(false);
    const p = response();
    expect(answerMatchesQuestion(p, 11, dq, false)).toBe(false);
    // Cut inside the question.
    expect(answerMatchesQuestion(p, p.length - 2, dq, false)).toBe(false);
  });

  it('accepts an answer without a question when its RCODE says the backend could not answer', () => {
    for (const rcode of [1, 2, 4, 5]) expect([rcode, matches(response({ noQuestion: true, rcode }))]).toEqual([rcode, true]);
  });

  it('refuses a NOERROR or NXDOMAIN answer without a question, unless setAllowEmptyResponse(true)', () => {
    for (const rcode of [0, 3]) {
      expect([rcode, matches(response({ noQuestion: true, rcode }))]).toEqual([rcode, false]);
      expect([rcode, matches(response({ noQuestion: true, rcode }), true)]).toEqual([rcode, true]);
    }
  });
});
