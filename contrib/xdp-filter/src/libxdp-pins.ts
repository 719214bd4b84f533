import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BpfMap, BpfObject } from '@dnsdist-ts/bpf';
import { FILTER_MAPS } from './filter-maps.js';
import { XDP_FILTER_OBJECT, XdpFilter } from './xdp-filter.js';
import { XdpFilterError } from './xdp-filter-error.js';

/**
 * Prepare `pinDir` for a generic loader such as libxdp's `xdp-loader`
 * (`xdp-loader load -p DIR IF xdp-filter.bpf.o`), which reuses pinned maps
 * by the names they have in the object (LIBBPF_PIN_BY_NAME) rather than by
 * dnsdist's file names: every map is created if missing (and the name index
 * brought up to date), then pinned a second time under its object name, so
 * both names are the same kernel map. libbpf reuses a pin only when its size
 * equals the object's, so maps of other sizes are refused here with the
 * reason. Returns the alias paths.
 */
export function pinLibxdpAliases(pinDir: string): string[] {
  XdpFilter.load({ pinDir }).close();
  const obj = BpfObject.open(XDP_FILTER_OBJECT);
  let declared: Map<string, number>;
  try {
    declared = new Map(obj.maps().map((m) => [m.name, m.maxEntries]));
  } finally {
    obj.close();
  }
  const out: string[] = [];
  for (const [name, spec] of Object.entries(FILTER_MAPS)) {
    const alias = join(pinDir, name);
    const map = BpfMap.openPinned(join(pinDir, spec.pin));
    try {
      const want = declared.get(name);
      if (want !== undefined && map.maxEntries !== want) {
        throw new XdpFilterError(
          `${join(pinDir, spec.pin)} has ${map.maxEntries} entries but the object declares ${want}: libbpf (and so xdp-loader) reuses a pinned map only when the sizes match; use maps of the default size, or attach with 'xdp-filter attach' instead`,
          join(pinDir, spec.pin),
        );
      }
      if (existsSync(alias)) {
        const other = BpfMap.openPinned(alias);
        try {
          if (other.info().id !== map.info().id)
            throw new XdpFilterError(`${alias} exists and is another map than ${join(pinDir, spec.pin)}: remove it first`, alias);
        } finally {
          other.close();
        }
      } else {
        map.pin(alias);
      }
      out.push(alias);
    } finally {
      map.close();
    }
  }
  return out;
}
