/**
 * BTF descriptions of map keys and values. Maps created with one can be
 * pretty-printed by `bpftool map dump`; they never change behaviour.
 */
export type BtfType =
  | { kind: 'int'; name: string; size: 1 | 2 | 4 | 8 | 16; signed?: boolean }
  | { kind: 'array'; elem: BtfType; count: number }
  | { kind: 'struct'; name: string; size: number; members: BtfMember[] };

export interface BtfMember {
  name: string;
  type: BtfType;
  /** Byte offset of the member inside the struct. */
  offset: number;
}

export interface BtfKeyValue {
  key: BtfType;
  value: BtfType;
}

/** Common integer types, named as the kernel headers name them. */
export const btf = {
  u8: { kind: 'int', name: '__u8', size: 1 } as BtfType,
  u16: { kind: 'int', name: '__u16', size: 2 } as BtfType,
  u32: { kind: 'int', name: '__u32', size: 4 } as BtfType,
  u64: { kind: 'int', name: '__u64', size: 8 } as BtfType,
  bytes(count: number): BtfType {
    return { kind: 'array', elem: { kind: 'int', name: '__u8', size: 1 }, count };
  },
};

/** Size in bytes that a BTF type occupies. */
export function btfSize(t: BtfType): number {
  switch (t.kind) {
    case 'int':
      return t.size;
    case 'array':
      return btfSize(t.elem) * t.count;
    case 'struct':
      return t.size;
  }
}
