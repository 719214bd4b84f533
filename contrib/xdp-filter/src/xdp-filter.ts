import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BpfMap, BpfObject, MapType, attachXdp, type BpfProgram, type XdpAttachment, type XdpMode } from '@dnsdist-ts/bpf';
import { DEFAULT_PIN_DIR, FILTER_MAPS } from './filter-maps.js';
import { readXdpStats, type XdpStatName } from './xdp-stats.js';

const OBJECT_PATH = fileURLToPath(new URL('../bpf/xdp-filter.bpf.o', import.meta.url));
const MAX_DNS_PORTS = 8;

export interface XdpFilterOptions {
  /** Directory holding the pinned maps (default /sys/fs/bpf/dnsdist). */
  pinDir?: string;
  /** UDP/TCP destination ports treated as DNS (default [53], at most 8). */
  ports?: number[];
  /** Size of maps this loader creates when they are not pinned yet (default 1024). */
  maxEntries?: number;
}

/** Thrown for a bad option or a pinned map that cannot be used. */
export class XdpFilterError extends Error {
  constructor(
    message: string,
    readonly input?: unknown,
  ) {
    super(message);
    this.name = 'XdpFilterError';
  }
}

function configBytes(ports: number[]): Buffer {
  if (ports.length === 0 || ports.length > MAX_DNS_PORTS)
    throw new XdpFilterError(`between 1 and ${MAX_DNS_PORTS} DNS ports are supported, got ${ports.length}`, ports);
  const b = Buffer.alloc(20);
  ports.forEach((p, i) => {
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new XdpFilterError(`invalid port ${p}`, p);
    b.writeUInt16LE(p, i * 2);
  });
  b.writeUInt32LE(ports.length, 16);
  return b;
}

/**
 * The XDP filter program loaded against the pinned maps: existing pins
 * (dnsdist's or ours) are reused after a layout check, missing ones are
 * created and pinned. attach() puts it on an interface.
 */
export class XdpFilter {
  readonly program: BpfProgram;
  readonly pinDir: string;
  readonly ports: number[];
  readonly #object: BpfObject;

  private constructor(object: BpfObject, pinDir: string, ports: number[]) {
    this.#object = object;
    this.program = object.program('xdp_dns_filter');
    this.pinDir = pinDir;
    this.ports = ports;
  }

  static load(opts: XdpFilterOptions = {}): XdpFilter {
    const pinDir = opts.pinDir ?? DEFAULT_PIN_DIR;
    const ports = opts.ports ?? [53];
    if (!existsSync(OBJECT_PATH))
      throw new XdpFilterError(`the XDP program is not built (${OBJECT_PATH} is missing): run 'make bpf'`, OBJECT_PATH);
    const obj = BpfObject.open(OBJECT_PATH);
    try {
      for (const [name, spec] of Object.entries(FILTER_MAPS)) {
        const path = join(pinDir, spec.pin);
        if (existsSync(path)) {
          const map = BpfMap.openPinned(path, { type: spec.type, keySize: spec.keySize, valueSize: spec.valueSize });
          try {
            obj.reuseMap(name, map);
          } finally {
            map.close();
          }
        } else {
          if (opts.maxEntries && spec.type !== MapType.PerCpuArray) obj.setMapMaxEntries(name, opts.maxEntries);
          obj.setMapPinPath(name, path);
        }
      }
      const rodata = obj.maps().find((m) => m.name.endsWith('.rodata'));
      if (!rodata || rodata.valueSize !== 20)
        throw new XdpFilterError('unexpected .rodata layout in the XDP object: rebuild it (make bpf)', OBJECT_PATH);
      obj.setInitialValue(rodata.name, configBytes(ports));
      obj.load();
    } catch (err) {
      obj.close();
      throw err;
    }
    return new XdpFilter(obj, pinDir, ports);
  }

  /** Attach to an interface (auto, native or generic mode). */
  attach(iface: string | number, mode: XdpMode = 'auto'): XdpAttachment {
    return attachXdp(this.program, iface, mode);
  }

  /** A map of the loaded program by its name in the object (caller closes it). */
  map(name: keyof typeof FILTER_MAPS): BpfMap {
    return this.#object.map(name);
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
