/**
 * Qname keys. Both formats start with the name in DNS wire format,
 * ASCII-lower-cased, zero-padded to 255 bytes. The external format appends
 * one zero byte and the qtype as a host-order u16 (258 bytes); the legacy
 * format keeps the qtype in the value instead.
 */
import { BPFFilterError } from './bpf-filter-error.js';
import { legacy_qname_key, qname_key, QNAME_BYTES } from './generated/layouts.js';

export const EXTERNAL_QNAME_KEY_BYTES = qname_key.sizeof;

function copyLowerWire(wire: Uint8Array, out: Buffer): void {
  if (wire.byteLength > QNAME_BYTES) throw new BPFFilterError('Invalid QName to block', wire);
  out.fill(0);
  for (let i = 0; i < wire.byteLength; i++) {
    const c = wire[i]!;
    out[i] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
  }
}

/** External-format key from a wire-format name (any case) and qtype. */
export function externalQNameKey(wire: Uint8Array, qtype: number, out: Buffer = Buffer.alloc(EXTERNAL_QNAME_KEY_BYTES)): Buffer {
  copyLowerWire(wire, out);
  out.writeUInt16LE(qtype, qname_key.qtype.offset);
  return out;
}

/** Legacy-format key: just the padded lower-cased name. */
export function legacyQNameKey(wire: Uint8Array, out: Buffer = Buffer.alloc(legacy_qname_key.sizeof)): Buffer {
  copyLowerWire(wire, out);
  return out;
}

/** The wire-format name at the start of a key (up to and including the root label). */
export function wireFromQNameKey(key: Uint8Array): Buffer {
  let i = 0;
  while (i < QNAME_BYTES && key[i] !== 0) i += key[i]! + 1;
  return Buffer.from(key.subarray(0, Math.min(i + 1, QNAME_BYTES)));
}

/** Text form of a wire name ("evil.example." / "."), escaping dots and unprintables like dnsdist. */
export function wireToText(wire: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < wire.byteLength && wire[i] !== 0) {
    const len = wire[i]!;
    for (let j = i + 1; j <= i + len && j < wire.byteLength; j++) {
      const c = wire[j]!;
      if (c === 0x2e || c === 0x5c) out += `\\${String.fromCharCode(c)}`;
      else if (c <= 0x20 || c >= 0x7f) out += `\\${c.toString().padStart(3, '0')}`;
      else out += String.fromCharCode(c);
    }
    out += '.';
    i += len + 1;
  }
  return out === '' ? '.' : out;
}
