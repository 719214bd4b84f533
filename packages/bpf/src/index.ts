/**
 * @dnsdist-ts/bpf: a typed binding to libbpf. Maps (create, pin, open,
 * CRUD, iteration, batch ops, per-CPU values), ELF objects, XDP and
 * socket-filter attachment, and BPF_PROG_TEST_RUN. Knows nothing of DNS.
 */
export { BpfMap, MapDumpCursor, type MapDumpChunk, type MapSpec, type MapInfo, type MapExpectation } from './bpf-map.js';
export { BpfObject, type ObjectMapDescription } from './bpf-object.js';
export { BpfProgram, XdpAction, type TestRunResult } from './bpf-program.js';
export type { BpfMapLike } from './map-like.js';
export { MapType, MapFlags, UpdateFlag, mapTypeName, isPerCpu, type UpdateMode } from './map-type.js';
export { ProgType } from './prog-type.js';
export { btf, btfSize, type BtfType, type BtfMember, type BtfKeyValue } from './btf-type.js';
export { perCpuValueStride, sumPerCpuU64 } from './per-cpu.js';
export {
  attachXdp,
  queryXdp,
  interfaceIndex,
  XdpAttachment,
  type XdpMode,
  type XdpAttachedMode,
  type XdpStatus,
} from './xdp-attachment.js';
export { attachSocketFilter, attachSocketFilterFd, detachSocketFilter, socketFd, type SocketLike } from './socket-filter.js';
export {
  BPFFS_ROOT,
  BPFFS_MOUNT_COMMAND,
  isOnBpffs,
  checkPinPath,
  ensurePinParent,
  removeCreatedDirs,
  type PinPathCheck,
} from './bpffs.js';
export { PinTransaction, type PinTransactionOptions, type ExistingMapCheck, type ExistingMapSource } from './pin-transaction.js';
export { nativeAvailable, addonPath } from './native.js';
export {
  BpfError,
  BpfPermissionError,
  BpfPinPathError,
  BpfNotFoundError,
  BpfMapMismatchError,
  BpfMapFullError,
  BpfVerifierError,
  BpfBusyError,
  type BpfErrorDetails,
} from './errors.js';

import { native } from './native.js';
/** Version of the libbpf the addon is linked against. */
export function libbpfVersion(): string {
  return native().libbpfVersion;
}
