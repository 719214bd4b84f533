/** Kernel program types (enum bpf_prog_type) this package names. */
export const ProgType = {
  SocketFilter: 1,
  Xdp: 6,
} as const;
