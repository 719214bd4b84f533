/**
 * @dnsdist-ts/xdp-filter: the XDP program enforcing the pinned BPF filter
 * maps (dnsdist's external layout plus our suffix, name-index and stats
 * maps), and its loader.
 */
export { XdpFilter, XDP_FILTER_OBJECT, type XdpFilterOptions } from './xdp-filter.js';
export { XdpFilterError } from './xdp-filter-error.js';
export { FILTER_MAPS, DEFAULT_PIN_DIR, type FilterMapPin } from './filter-maps.js';
export { suffixKey, suffixHash, SUFFIX_KEY_BYTES } from './suffix-key.js';
export { XdpStat, XDP_STAT_COUNT, readXdpStats, type XdpStatName } from './xdp-stats.js';
export { SuffixMap, SUFFIX_VALUE_BYTES, type SuffixEntry } from './suffix-map.js';
export { syncNameIndex, nameIndexState, isNameIndexMode, parseNameIndexMode, type NameIndexMode } from './name-index-sync.js';
export { IndexGuard, INDEX_GUARD_OBJECT, INDEX_GUARD_DEFAULTS, INDEX_GUARD_MAX_FRESH_MS, type IndexGuardOptions } from './index-guard.js';
export { NameIndexMaintainer, type MaintainerLog } from './name-index-maintainer.js';
export { pinLibxdpAliases } from './libxdp-pins.js';
