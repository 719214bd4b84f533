/** Kernel map types (enum bpf_map_type) this package supports by name. */
export const MapType = {
  Hash: 1,
  Array: 2,
  ProgArray: 3,
  PerCpuHash: 5,
  PerCpuArray: 6,
  LruHash: 9,
  LruPerCpuHash: 10,
  LpmTrie: 11,
} as const;
export type MapType = (typeof MapType)[keyof typeof MapType];

/** Map creation flags (BPF_F_*). */
export const MapFlags = {
  NoPrealloc: 1 << 0,
  NoCommonLru: 1 << 1,
  Rdonly: 1 << 3,
  Wronly: 1 << 4,
  RdonlyProg: 1 << 7,
  WronlyProg: 1 << 8,
} as const;

/** Element update flags (BPF_ANY, BPF_NOEXIST, BPF_EXIST). */
export const UpdateFlag = { Any: 0, NoExist: 1, Exist: 2 } as const;
export type UpdateMode = 'any' | 'noexist' | 'exist';

export function updateFlag(mode: UpdateMode | undefined): number {
  switch (mode ?? 'any') {
    case 'any':
      return UpdateFlag.Any;
    case 'noexist':
      return UpdateFlag.NoExist;
    case 'exist':
      return UpdateFlag.Exist;
  }
}

export function mapTypeName(type: number): string {
  for (const [name, value] of Object.entries(MapType)) if (value === type) return name;
  return `type#${type}`;
}

export function isPerCpu(type: number): boolean {
  return type === MapType.PerCpuArray || type === MapType.PerCpuHash || type === MapType.LruPerCpuHash;
}
