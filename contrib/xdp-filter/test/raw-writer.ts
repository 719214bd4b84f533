/**
 * A foreign writer for tests: entries encoded here from the map layouts in
 * docs/xdp-filter.md (no dnsdist-ts code involved) and written with
 * `bpftool map update`, as an operator's script would. Nothing here knows
 * of the name index.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const ACTION = { pass: 0, drop: 1, tc: 2 } as const;

/** Lower-cased wire form of a dotted name. */
export function wireName(name: string): Buffer {
  const parts = name
    .toLowerCase()
    .split('.')
    .filter(Boolean)
    .map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')]));
  return Buffer.concat([...parts, Buffer.from([0])]);
}

function ipv4(a: string): Buffer {
  return Buffer.from(a.split('.').map(Number));
}

function ipv6(a: string): Buffer {
  const [head, tail] = a.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}

/** dnsdist's value: u64 counter, u8 action, 7 bytes of padding. */
function value(action: number): Buffer {
  const v = Buffer.alloc(16);
  v[8] = action;
  return v;
}

export type RawEntry =
  | { map: 'addr-v4'; address: string; action: number }
  | { map: 'addr-v6'; address: string; action: number }
  | { map: 'cidr4'; address: string; prefix: number; action: number }
  | { map: 'cidr6'; address: string; prefix: number; action: number }
  | { map: 'qnames'; name: string; qtype: number; action: number }
  | { map: 'suffixes'; name: string; action: number; nameInValue?: boolean };

/** The key and value bytes of an entry. */
export function encode(e: RawEntry): { key: Buffer; value: Buffer } {
  switch (e.map) {
    case 'addr-v4':
      return { key: Buffer.from(ipv4(e.address)).reverse(), value: value(e.action) }; // u32 in host (little-endian) order
    case 'addr-v6':
      return { key: ipv6(e.address), value: value(e.action) };
    case 'cidr4':
    case 'cidr6': {
      const addr = e.map === 'cidr4' ? ipv4(e.address) : ipv6(e.address);
      const prefix = Buffer.alloc(4);
      prefix.writeUInt32LE(e.prefix);
      return { key: Buffer.concat([prefix, addr]), value: value(e.action) };
    }
    case 'qnames': {
      const key = Buffer.alloc(258);
      wireName(e.name).copy(key);
      key.writeUInt16LE(e.qtype, 256);
      return { key, value: value(e.action) };
    }
    case 'suffixes': {
      const wire = wireName(e.name);
      // FNV-1a 64 of the wire suffix fed from its last byte backwards, then its length.
      let h = 0xcbf29ce484222325n;
      for (let i = wire.length - 1; i >= 0; i--) h = ((h ^ BigInt(wire[i]!)) * 0x100000001b3n) & 0xffffffffffffffffn;
      const key = Buffer.alloc(16);
      key.writeBigUInt64LE(h, 0);
      key.writeUInt32LE(wire.length, 8);
      const v = Buffer.alloc(272);
      v[8] = e.action;
      if (e.nameInValue !== false) wire.copy(v, 16);
      return { key, value: v };
    }
  }
}

const hex = (b: Buffer) => [...b].map((x) => x.toString(16).padStart(2, '0'));

/** `bpftool map update pinned DIR/MAP key hex … value hex …` for each entry, in order. */
export async function bpftoolWrite(dir: string, entries: RawEntry[]): Promise<void> {
  for (const e of entries) {
    const { key, value: v } = encode(e);
    await run('bpftool', ['map', 'update', 'pinned', `${dir}/${e.map}`, 'key', 'hex', ...hex(key), 'value', 'hex', ...hex(v)]);
  }
}
