import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BpfMap, BpfObject } from '@dnsdist-ts/bpf';
import { NAME_INDEX_PIN, NameIndex, layouts } from '@dnsdist-ts/bpf-filter';
import { FILTER_MAPS } from './filter-maps.js';
import { XdpFilterError } from './xdp-filter-error.js';

/** The compiled guard (built by `make bpf`). */
export const INDEX_GUARD_OBJECT = fileURLToPath(new URL('../bpf/index-guard.bpf.o', import.meta.url));

export interface IndexGuardOptions {
  /** Time between scans (ms, default 20). */
  periodMs?: number;
  /** How long a scan vouches for the index (ms, default 60): the bound on a foreign entry's delay, plus a jiffy. */
  freshMs?: number;
  /** Most entries per map a scan walks (default 65,536); a larger map is not vouched for. */
  maxEntries?: number;
}

const { GUARD_PERIOD_NS, GUARD_FRESH_NS, GUARD_MAX_ENTRIES, guard_config } = layouts;

/** The guard's defaults (dnsdist-maps.h): a scan every 20 ms, each vouching for 60 ms, 65,536 entries per map. */
export const INDEX_GUARD_DEFAULTS: Required<IndexGuardOptions> = {
  periodMs: Number(GUARD_PERIOD_NS) / 1e6,
  freshMs: Number(GUARD_FRESH_NS) / 1e6,
  maxEntries: GUARD_MAX_ENTRIES,
};

/** Longest freshness window accepted: with a jiffy of 10 ms (HZ=100), the bound stays within 100 ms. */
export const INDEX_GUARD_MAX_FRESH_MS = 90;

/** The pins the guard scans and marks, by their names in its object. */
const GUARDED_MAPS = ['qnamefilter', 'suffixfilter', 'nameindex'] as const;

/** The guard's .rodata: struct guard_config. */
function configBytes(o: Required<IndexGuardOptions>): Buffer {
  const b = Buffer.alloc(guard_config.sizeof);
  b.writeBigUInt64LE(BigInt(Math.round(o.periodMs * 1e6)), guard_config.period_ns.offset);
  b.writeBigUInt64LE(BigInt(Math.round(o.freshMs * 1e6)), guard_config.fresh_ns.offset);
  b.writeUInt32LE(o.maxEntries, guard_config.max_entries.offset);
  return b;
}

/** The options with their defaults, or an XdpFilterError saying which is out of range. */
export function checkIndexGuardOptions(opts: IndexGuardOptions): Required<IndexGuardOptions> {
  const o = { ...INDEX_GUARD_DEFAULTS, ...opts };
  if (!(o.freshMs > 0 && o.freshMs <= INDEX_GUARD_MAX_FRESH_MS))
    throw new XdpFilterError(`index guard: freshMs must be above 0 and at most ${INDEX_GUARD_MAX_FRESH_MS}, got ${o.freshMs}`, o);
  if (!(o.periodMs >= 1 && o.periodMs < o.freshMs))
    throw new XdpFilterError(`index guard: periodMs must be at least 1 and below freshMs (${o.freshMs}), got ${o.periodMs}`, o);
  if (!Number.isInteger(o.maxEntries) || o.maxEntries < 1 || o.maxEntries > 1 << 24)
    throw new XdpFilterError(`index guard: maxEntries must be an integer from 1 to ${1 << 24}, got ${o.maxEntries}`, o);
  return o;
}

/** Kernel ids of the maps pinned in `pinDir` that the guard works on, or the first missing pin. */
function pinnedIds(pinDir: string): { ids: number[] } | { missing: string } {
  const ids: number[] = [];
  for (const name of GUARDED_MAPS) {
    const path = join(pinDir, FILTER_MAPS[name]!.pin);
    if (!existsSync(path)) return { missing: path };
    const m = BpfMap.openPinned(path);
    try {
      ids.push(m.info().id);
    } finally {
      m.close();
    }
  }
  return { ids };
}

/**
 * The name index guard (bpf/index-guard.bpf.c) on the maps pinned in a
 * directory: a BPF timer that scans `qnames` and `suffixes` every period,
 * marks every entry in the name index, and vouches for the index for
 * `freshMs` after each complete scan, so that the XDP program can trust it
 * although foreign writers do not mark what they insert. The timer lives
 * exactly as long as this object (its state map is never pinned): stop(),
 * or this process's exit however it happens, ends it, and the program
 * stops trusting the index `freshMs` later.
 */
export class IndexGuard {
  readonly pinDir: string;
  readonly options: Required<IndexGuardOptions>;
  /** Kernel ids of the qnames, suffix and index maps it scans. */
  readonly mapIds: readonly number[];
  #object: BpfObject | undefined;

  private constructor(pinDir: string, options: Required<IndexGuardOptions>, mapIds: number[], object: BpfObject) {
    this.pinDir = pinDir;
    this.options = options;
    this.mapIds = mapIds;
    this.#object = object;
  }

  /** Start a guard on the filter maps pinned in `pinDir` (the XDP filter's loader creates them). */
  static start(pinDir: string, opts: IndexGuardOptions = {}): IndexGuard {
    const options = checkIndexGuardOptions(opts);
    if (!existsSync(INDEX_GUARD_OBJECT))
      throw new XdpFilterError(`the index guard is not built (${INDEX_GUARD_OBJECT} is missing): run 'make bpf'`, INDEX_GUARD_OBJECT);
    const pinned = pinnedIds(pinDir);
    if ('missing' in pinned)
      throw new XdpFilterError(`no ${pinned.missing}: load or attach the XDP filter with this pin directory first`, pinned.missing);
    const index = NameIndex.openPinned(join(pinDir, NAME_INDEX_PIN));
    try {
      if (index.legacy)
        throw new XdpFilterError(
          `the name index in ${pinDir} has the layout of an older version: attach the XDP filter again (it replaces the index)`,
          pinDir,
        );
    } finally {
      index.close();
    }
    const obj = BpfObject.open(INDEX_GUARD_OBJECT);
    try {
      const mapIds = GUARDED_MAPS.map((name) => {
        const spec = FILTER_MAPS[name]!;
        const map = BpfMap.openPinned(join(pinDir, spec.pin), { type: spec.type, keySize: spec.keySize, valueSize: spec.valueSize });
        try {
          obj.reuseMap(name, map);
          return map.info().id;
        } finally {
          map.close();
        }
      });
      const rodata = obj.maps().find((m) => m.name.endsWith('.rodata'));
      if (!rodata || rodata.valueSize !== guard_config.sizeof)
        throw new XdpFilterError('unexpected .rodata layout in the index guard object: rebuild it (make bpf)', INDEX_GUARD_OBJECT);
      obj.setInitialValue(rodata.name, configBytes(options));
      obj.load();
      // An XDP test run needs a frame of at least an Ethernet header; the program ignores it.
      const r = obj.program('index_guard_start').testRun(Buffer.alloc(64)).retval;
      if (r !== 0) throw new XdpFilterError(`the index guard's timer could not be started (error ${r - 1000})`, r);
      return new IndexGuard(pinDir, options, mapIds, obj);
    } catch (err) {
      obj.close();
      throw err;
    }
  }

  /** Whether the pins in its directory still name the maps it scans (false once one is replaced or removed). */
  matchesPins(): boolean {
    const pinned = pinnedIds(this.pinDir);
    return 'ids' in pinned && pinned.ids.every((id, i) => id === this.mapIds[i]);
  }

  get running(): boolean {
    return this.#object !== undefined;
  }

  /** End the timer (the kernel cancels it when its state map's last descriptor closes). Idempotent. */
  stop(): void {
    this.#object?.close();
    this.#object = undefined;
  }
}
