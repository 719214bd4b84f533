import type { Transport } from '../query/dns-question.js';

/**
 * How the rings store a query's transport: one byte per entry. The names
 * are dnsdist's `dnsdist::Protocol` texts, as grepq prints them.
 */
export const RingTransport = {
  udp: 0,
  tcp: 1,
} as const;

const NAMES = ['DoUDP', 'DoTCP'];

/** The byte stored for `transport`. */
export function transportCode(transport: Transport): number {
  return transport === 'tcp' ? RingTransport.tcp : RingTransport.udp;
}

/** dnsdist's protocol name for a stored transport byte: "DoUDP", "DoTCP". */
export function transportName(code: number): string {
  return NAMES[code] ?? 'DoUDP';
}

/** The transport for a stored byte. */
export function transportOf(code: number): Transport {
  return code === RingTransport.tcp ? 'tcp' : 'udp';
}
