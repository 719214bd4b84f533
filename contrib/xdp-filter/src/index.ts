/**
 * @dnsdist-ts/xdp-filter: the XDP program enforcing the pinned BPF filter
 * maps (dnsdist's external layout plus our suffix and stats maps), and its
 * loader.
 */
export { XdpFilter, XdpFilterError, type XdpFilterOptions } from './xdp-filter.js';
export { FILTER_MAPS, DEFAULT_PIN_DIR, type FilterMapPin } from './filter-maps.js';
export { suffixKey, suffixHash, SUFFIX_KEY_BYTES } from './suffix-key.js';
export { XdpStat, XDP_STAT_COUNT, readXdpStats, type XdpStatName } from './xdp-stats.js';
export { SuffixMap, SUFFIX_VALUE_BYTES, type SuffixEntry } from './suffix-map.js';
