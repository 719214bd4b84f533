import { legacy_qname_value, legacy_value, map_value } from './generated/layouts.js';
import type { MatchAction } from './match-action.js';

/**
 * dnsdist's CounterAndActionValue (struct map_value): u64 hit counter at 0,
 * u8 action at 8, 7 bytes of padding that dnsdist leaves uninitialised
 * (readers ignore them).
 */
export const VALUE_BYTES = map_value.sizeof;

export function encodeCounterAction(action: MatchAction, counter = 0n, out: Buffer = Buffer.alloc(VALUE_BYTES)): Buffer {
  out.fill(0, 0, VALUE_BYTES);
  out.writeBigUInt64LE(counter, map_value.counter.offset);
  out[map_value.action.offset] = action;
  return out;
}

export function decodeCounterAction(v: Buffer): { counter: bigint; action: number } {
  return { counter: v.readBigUInt64LE(map_value.counter.offset), action: v[map_value.action.offset]! };
}

/** Legacy values: a bare u64 counter (v4/v6). */
export function encodeLegacyCounter(counter = 0n): Buffer {
  const b = Buffer.alloc(legacy_value.sizeof);
  b.writeBigUInt64LE(counter, legacy_value.counter.offset);
  return b;
}

/** Legacy qname values: u64 counter at 0, u16 qtype (host order) at 8. */
export function encodeLegacyQNameValue(qtype: number, counter = 0n): Buffer {
  const b = Buffer.alloc(legacy_qname_value.sizeof);
  b.writeBigUInt64LE(counter, legacy_qname_value.counter.offset);
  b.writeUInt16LE(qtype, legacy_qname_value.qtype.offset);
  return b;
}

export function decodeLegacyQNameValue(v: Buffer): { counter: bigint; qtype: number } {
  return { counter: v.readBigUInt64LE(legacy_qname_value.counter.offset), qtype: v.readUInt16LE(legacy_qname_value.qtype.offset) };
}
