import { MatchAction } from './match-action.js';

/**
 * dnsdist's CounterAndActionValue: u64 hit counter at 0, u8 action at 8,
 * 7 bytes of padding that dnsdist leaves uninitialised (readers ignore them).
 */
export const VALUE_BYTES = 16;

export function encodeCounterAction(action: MatchAction, counter = 0n, out: Buffer = Buffer.alloc(VALUE_BYTES)): Buffer {
  out.fill(0, 0, VALUE_BYTES);
  out.writeBigUInt64LE(counter, 0);
  out[8] = action;
  return out;
}

export function decodeCounterAction(v: Buffer): { counter: bigint; action: number } {
  return { counter: v.readBigUInt64LE(0), action: v[8]! };
}

/** Legacy values: a bare u64 counter (v4/v6). */
export function encodeLegacyCounter(counter = 0n): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(counter);
  return b;
}

/** Legacy qname values: u64 counter at 0, u16 qtype (host order) at 8. */
export function encodeLegacyQNameValue(qtype: number, counter = 0n): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigUInt64LE(counter, 0);
  b.writeUInt16LE(qtype, 8);
  return b;
}

export function decodeLegacyQNameValue(v: Buffer): { counter: bigint; qtype: number } {
  return { counter: v.readBigUInt64LE(0), qtype: v.readUInt16LE(8) };
}
