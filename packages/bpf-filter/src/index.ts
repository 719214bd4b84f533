/**
 * @dnsdist-ts/bpf-filter: dnsdist's BPFFilter. Address, qname/qtype and
 * range maps in dnsdist's exact byte layouts (legacy and external
 * formats), pinned and reused across restarts, plus the internal socket
 * filter for the legacy format.
 */
export { BPFFilter, type BPFFilterEntry } from './bpf-filter.js';
export type { FilterMapHandles } from './filter-map-handles.js';
export {
  parseBPFFilterArgs,
  pinnedExternalOptions,
  CONVENTIONAL_PIN_NAMES,
  type BPFFilterOptions,
  type FilterMapOptions,
} from './bpf-filter-options.js';
export { BPFFilterError, BPFFilterConfigError } from './bpf-filter-error.js';
export { MatchAction, matchActionName } from './match-action.js';
export { MapFormat, mapLayout, QTYPE_ANY_1X, QTYPE_ANY_2X, QNAME_BYTES, type FilterMapKind, type MapLayout } from './map-format.js';
export { ipv4Key, ipv6Key, ipv4FromKey } from './address-key.js';
export { externalQNameKey, legacyQNameKey, EXTERNAL_QNAME_KEY_BYTES } from './qname-key.js';
export { cidrKey, cidrFromKey } from './cidr-key.js';
export { encodeCounterAction, decodeCounterAction, VALUE_BYTES } from './counter-action-value.js';
export { InternalSocketFilter } from './internal-socket-filter.js';
export { DynBPFFilter, type DynBPFFilterStat } from './dyn-bpf-filter.js';
export { nowNs, secondsFromNow, secondsLeft, type MonotonicNs } from './monotonic-clock.js';
export { ExpiryStore, EXPIRY_SUFFIX } from './expiry-store.js';
export { ExpiryQueue, type Deadline } from './expiry-queue.js';
export type { BlockOptions, ExpiringEntry } from './bpf-filter.js';
export {
  NameIndex,
  NAME_INDEX_PIN,
  NAME_INDEX_TRUSTED,
  NAME_INDEX_GUARDED,
  NAME_INDEX_MIN_SLOTS,
  NAME_INDEX_MAX_SLOTS,
  nameIndexSlotsFor,
  type NameIndexRegion,
  type NameIndexState,
  type NameIndexRegionMode,
  type NameIndexRegionState,
  type NameIndexGuardReport,
  type NameIndexScan,
} from './name-index.js';
export { qnameFingerprint, suffixFingerprint, fingerprintSlots } from './name-fingerprint.js';
export { withNameIndexLock, NAME_INDEX_LOCK_DIR } from './name-index-lock.js';
/** The map layouts and constants of bpf/dnsdist-maps.h, generated from its BTF (`make layouts`). */
export * as layouts from './generated/layouts.js';
export { wireFromQNameKey } from './qname-key.js';
