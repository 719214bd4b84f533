import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BpfMap, BpfObject, MapType, attachXdp, type BpfProgram, type XdpAttachment, type XdpMode } from '@dnsdist-ts/bpf';
import { NameIndex, layouts, nameIndexSlotsFor, type NameIndexState } from '@dnsdist-ts/bpf-filter';
import { DEFAULT_PIN_DIR, FILTER_MAPS } from './filter-maps.js';
import { IndexGuard, type IndexGuardOptions } from './index-guard.js';
import { syncNameIndex, type NameIndexMode } from './name-index-sync.js';
import { SuffixMap } from './suffix-map.js';
import { XdpFilterError } from './xdp-filter-error.js';
import { XDP_STAT_COUNT, readXdpStats, type XdpStatName } from './xdp-stats.js';

export { XdpFilterError } from './xdp-filter-error.js';

/** The compiled program (built by `make bpf`). */
export const XDP_FILTER_OBJECT = fileURLToPath(new URL('../bpf/xdp-filter.bpf.o', import.meta.url));
const { MAX_DNS_PORTS, filter_config } = layouts;
const DEFAULT_MAP_SIZE = 1024;

export interface XdpFilterOptions {
  /** Directory holding the pinned maps (default /sys/fs/bpf/dnsdist). */
  pinDir?: string;
  /** UDP/TCP destination ports treated as DNS (default [53], at most 8). */
  ports?: number[];
  /** Size of maps this loader creates when they are not pinned yet (default 1024). */
  maxEntries?: number;
  /** How the program may use the name index (default 'auto': guarded, see NameIndexMode). */
  nameIndex?: NameIndexMode;
}

/** The program's .rodata: struct filter_config. */
function configBytes(ports: number[]): Buffer {
  if (ports.length === 0 || ports.length > MAX_DNS_PORTS)
    throw new XdpFilterError(`between 1 and ${MAX_DNS_PORTS} DNS ports are supported, got ${ports.length}`, ports);
  const b = Buffer.alloc(filter_config.sizeof);
  ports.forEach((p, i) => {
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new XdpFilterError(`invalid port ${p}`, p);
    b.writeUInt16LE(p, filter_config.dns_ports.offset + i * 2);
  });
  b.writeUInt32LE(ports.length, filter_config.n_dns_ports.offset);
  return b;
}

function pinnedMaxEntries(path: string): number | undefined {
  if (!existsSync(path)) return undefined;
  const m = BpfMap.openPinned(path);
  try {
    return m.maxEntries;
  } finally {
    m.close();
  }
}

/**
 * Create the name index when it is missing, sized for the larger of the
 * qnames and suffix maps (pinned, or about to be created). An index in the
 * first layout (no guard words) is switched off, so that a program still
 * reading it looks every name up, and replaced.
 */
function ensureNameIndex(pinDir: string, maxEntries: number | undefined): void {
  const path = join(pinDir, FILTER_MAPS.nameindex!.pin);
  if (existsSync(path)) {
    const old = NameIndex.openPinned(path);
    try {
      if (!old.legacy) return;
      old.retire();
    } finally {
      old.close();
    }
    rmSync(path);
  }
  const names = Math.max(
    pinnedMaxEntries(join(pinDir, FILTER_MAPS.qnamefilter!.pin)) ?? maxEntries ?? DEFAULT_MAP_SIZE,
    pinnedMaxEntries(join(pinDir, FILTER_MAPS.suffixfilter!.pin)) ?? maxEntries ?? DEFAULT_MAP_SIZE,
  );
  NameIndex.create(path, nameIndexSlotsFor(names)).close();
}

/**
 * The XDP filter program loaded against the pinned maps: existing pins
 * (dnsdist's or ours) are reused after a layout check, missing ones are
 * created and pinned, and the name index is brought up to date.
 * attach() puts it on an interface.
 */
export class XdpFilter {
  readonly program: BpfProgram;
  readonly pinDir: string;
  readonly ports: number[];
  /** What the program knows of the name index after load. */
  readonly nameIndex: NameIndexState;
  readonly #object: BpfObject;

  private constructor(object: BpfObject, pinDir: string, ports: number[], nameIndex: NameIndexState) {
    this.#object = object;
    this.program = object.program('xdp_dns_filter');
    this.pinDir = pinDir;
    this.ports = ports;
    this.nameIndex = nameIndex;
  }

  static load(opts: XdpFilterOptions = {}): XdpFilter {
    const pinDir = opts.pinDir ?? DEFAULT_PIN_DIR;
    const ports = opts.ports ?? [53];
    const config = configBytes(ports);
    if (!existsSync(XDP_FILTER_OBJECT))
      throw new XdpFilterError(`the XDP program is not built (${XDP_FILTER_OBJECT} is missing): run 'make bpf'`, XDP_FILTER_OBJECT);
    ensureNameIndex(pinDir, opts.maxEntries);
    const obj = BpfObject.open(XDP_FILTER_OBJECT);
    try {
      for (const [name, spec] of Object.entries(FILTER_MAPS)) {
        const path = join(pinDir, spec.pin);
        if (existsSync(path) && spec.type === MapType.PerCpuArray && (pinnedMaxEntries(path) ?? 0) < XDP_STAT_COUNT) {
          // Counters pinned by an older version with fewer verdicts: only totals are lost.
          rmSync(path);
        }
        // Always, and first (reusing a map renames it to the reused map's name): the object pins
        // by name, and libbpf would otherwise pin under /sys/fs/bpf/<name>.
        obj.setMapPinPath(name, path);
        if (existsSync(path)) {
          const map = BpfMap.openPinned(path, { type: spec.type, keySize: spec.keySize, valueSize: spec.valueSize });
          try {
            obj.reuseMap(name, map);
          } finally {
            map.close();
          }
        } else if (opts.maxEntries && spec.type !== MapType.PerCpuArray) {
          obj.setMapMaxEntries(name, opts.maxEntries);
        }
      }
      const rodata = obj.maps().find((m) => m.name.endsWith('.rodata'));
      if (!rodata || rodata.valueSize !== filter_config.sizeof)
        throw new XdpFilterError('unexpected .rodata layout in the XDP object: rebuild it (make bpf)', XDP_FILTER_OBJECT);
      obj.setInitialValue(rodata.name, config);
      obj.load();
      return new XdpFilter(obj, pinDir, ports, syncNameIndex(pinDir, opts.nameIndex ?? 'auto'));
    } catch (err) {
      obj.close();
      throw err;
    }
  }

  /** Attach to an interface (auto, native or generic mode). */
  attach(iface: string | number, mode: XdpMode = 'auto'): XdpAttachment {
    return attachXdp(this.program, iface, mode);
  }

  /** A map of the loaded program by its name in the object (caller closes it). */
  map(name: keyof typeof FILTER_MAPS): BpfMap {
    return this.#object.map(name);
  }

  /**
   * Start an index guard on this filter's maps (see IndexGuard): in the
   * default mode the program uses the name index only while one runs.
   * Caller stops it.
   */
  guard(opts: IndexGuardOptions = {}): IndexGuard {
    return IndexGuard.start(this.pinDir, opts);
  }

  /** The suffix map, keeping the name index up to date as suffixes are blocked (caller closes it). */
  suffixes(): SuffixMap {
    return new SuffixMap(this.map('suffixfilter'), this.pinDir);
  }

  /** Totals by verdict and parse-failure reason, summed over CPUs. */
  stats(): Record<XdpStatName, bigint> {
    const m = this.map('xdpstats');
    try {
      return readXdpStats(m);
    } finally {
      m.close();
    }
  }

  close(): void {
    this.#object.close();
  }
}
