import { existsSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import {
  BpfError,
  BpfMap,
  BpfProgram,
  checkPinPath,
  queryXdp,
  removeCreatedDirs,
  XdpAttachment,
  type PinTransaction,
  type XdpMode,
} from '@dnsdist-ts/bpf';
import { CONVENTIONAL_PIN_NAMES, type BPFFilter, type FilterMapKind } from '@dnsdist-ts/bpf-filter';
import { FILTER_MAPS, XdpFilter, type XdpStatName } from '@dnsdist-ts/xdp-filter';
import type { Logger } from '@dnsdist-ts/dataplane/server/logger.js';
import { EbpfSetupError } from './ebpf-setup-error.js';

/** What `attachXDPFilter{...}` asks for. */
export interface XdpFilterRequest {
  /** Interfaces to attach to (in the proxy's network namespace). */
  interfaces: string[];
  /** native (in the driver; the default), generic (after the socket buffer is built) or auto (the kernel chooses). */
  mode: XdpMode;
  /** UDP/TCP destination ports the program inspects; default: the proxy's listening ports. */
  ports?: number[];
  /** Directory of the pinned maps; default: where the filter's maps are pinned. */
  pinDir?: string;
  /** The filter whose maps the program reads; default: the default filter (setDefaultBPFFilter). */
  filter?: BPFFilter;
}

/** Most ports the program takes (its configuration array). */
const MAX_PORTS = 8;

/**
 * The directory holding a filter's pinned maps, checked against what the
 * XDP program expects: external format, every map pinned in one directory
 * under its conventional name (addr-v4, addr-v6, qnames, cidr4, cidr6).
 */
export function xdpPinDirOf(filter: BPFFilter): string {
  if (!filter.external) {
    throw new EbpfSetupError(
      'attachXDPFilter: the XDP filter reads the external map format: create the filter with newBPFFilter(..., true) (or external=true)',
      filter.options,
    );
  }
  const dirs = new Set<string>();
  for (const [kind, opts] of Object.entries(filter.options.maps) as Array<[FilterMapKind, { pinnedPath?: string }]>) {
    const conventional = CONVENTIONAL_PIN_NAMES[kind];
    if (opts.pinnedPath === undefined) {
      throw new EbpfSetupError(
        `attachXDPFilter: the filter's ${kind} map is not pinned, so the XDP program cannot read it: pin every map in one directory (pinnedPath="/sys/fs/bpf/dnsdist/${conventional}")`,
        kind,
      );
    }
    if (basename(opts.pinnedPath) !== conventional) {
      throw new EbpfSetupError(
        `attachXDPFilter: the XDP program finds the ${kind} map under the name '${conventional}', not '${basename(opts.pinnedPath)}': pin it as ${dirname(opts.pinnedPath)}/${conventional}`,
        opts.pinnedPath,
      );
    }
    dirs.add(dirname(opts.pinnedPath));
  }
  if (dirs.size !== 1) {
    throw new EbpfSetupError(
      `attachXDPFilter: the filter's maps are pinned in several directories (${[...dirs].join(', ')}): pin them in one`,
      [...dirs],
    );
  }
  return [...dirs][0]!;
}

/**
 * The contrib XDP filter, loaded against a filter's pinned maps and
 * attached to interfaces for the life of the proxy (as CoreDNS's ebpf
 * plugin does with its program): attached at start-up, detached at stop.
 * An xdp-filter left attached by an earlier run that did not stop cleanly
 * is replaced; any other XDP program on the interface is an error.
 */
export class XdpFilterDeployment {
  readonly request: XdpFilterRequest;
  /** Where the maps it reads are pinned (once started). */
  pinDir: string | undefined;
  #program: XdpFilter | undefined;
  readonly #attachments: XdpAttachment[] = [];
  /** Pins and directories absent before start(): what the loader may create, removed by removeCreatedPins(). */
  #mayCreate: { pins: string[]; dirs: string[] } = { pins: [], dirs: [] };

  constructor(request: XdpFilterRequest) {
    this.request = request;
  }

  /** The directory of the maps the program reads. */
  #pinDirFor(defaultFilter: BPFFilter | undefined): string {
    const r = this.request;
    if (r.pinDir !== undefined) return r.pinDir;
    const filter = r.filter ?? defaultFilter;
    if (!filter)
      throw new EbpfSetupError('attachXDPFilter: no filter to read: call setDefaultBPFFilter(bpf) or pass filter=bpf (or pinDir="...")', r);
    return xdpPinDirOf(filter);
  }

  /**
   * Check, creating nothing, that the program can be loaded against its pin
   * directory: a filter to read, and for each of the program's maps a pin
   * planned in `pins` (the filter's, made with the configuration's), a
   * pinned map of the program's layout, or a path on bpffs where the
   * loader can make one.
   */
  validate(defaultFilter: BPFFilter | undefined, pins: PinTransaction): void {
    const pinDir = this.#pinDirFor(defaultFilter);
    for (const spec of Object.values(FILTER_MAPS)) {
      const path = join(pinDir, spec.pin);
      if (pins.planned(path)) continue;
      try {
        if (existsSync(path)) BpfMap.openPinned(path, { type: spec.type, keySize: spec.keySize, valueSize: spec.valueSize }).close();
        else checkPinPath(path);
      } catch (err) {
        if (err instanceof BpfError) throw new EbpfSetupError(`attachXDPFilter: ${err.message}`, path);
        throw err;
      }
    }
  }

  /** Load and attach. `listenerPorts` is the default port set. Throws (having undone everything) when any interface fails. */
  start(defaultFilter: BPFFilter | undefined, listenerPorts: number[], log: Pick<Logger, 'info' | 'warn'>): void {
    const r = this.request;
    const pinDir = this.#pinDirFor(defaultFilter);
    const ports = r.ports ?? [...new Set(listenerPorts)];
    if (ports.length === 0 || ports.length > MAX_PORTS) {
      throw new EbpfSetupError(
        `attachXDPFilter: the XDP program inspects 1 to ${MAX_PORTS} DNS ports, the listeners use ${ports.length}: pass ports={...}`,
        ports,
      );
    }
    this.#mayCreate = {
      pins: Object.values(FILTER_MAPS)
        .map((m) => join(pinDir, m.pin))
        .filter((p) => !existsSync(p)),
      dirs: [],
    };
    for (let d = pinDir; !existsSync(d); d = dirname(d)) this.#mayCreate.dirs.push(d);
    let program: XdpFilter;
    try {
      program = XdpFilter.load({ pinDir, ports });
    } catch (err) {
      this.removeCreatedPins();
      throw err;
    }
    this.#program = program;
    this.pinDir = pinDir;
    try {
      const ownName = program.program.info().name;
      for (const iface of r.interfaces) {
        this.#clearStale(iface, ownName, log);
        const att = program.attach(iface, r.mode);
        this.#attachments.push(att);
        log.info(
          `Attached the XDP filter to ${iface} in ${att.mode} mode (program id ${att.progId}), DNS ports ${ports.join(',')}, maps in ${pinDir}`,
        );
      }
    } catch (err) {
      this.stop();
      this.removeCreatedPins();
      throw err;
    }
  }

  /**
   * Remove the pins and directories the last start() found absent and
   * the loader made (after stop(): a failed start-up undoes them).
   */
  removeCreatedPins(): void {
    const { pins, dirs } = this.#mayCreate;
    this.#mayCreate = { pins: [], dirs: [] };
    for (const p of pins) {
      try {
        unlinkSync(p);
      } catch {
        // Never made, or gone already.
      }
    }
    removeCreatedDirs(dirs);
  }

  /** An xdp-filter still attached from a run that died is ours to replace; another program is not. */
  #clearStale(iface: string, ownName: string, log: Pick<Logger, 'warn'>): void {
    const q = queryXdp(iface);
    if (q.mode === 'none') return;
    const prog = BpfProgram.fromId(q.progId);
    try {
      if (prog.info().name !== ownName) {
        throw new EbpfSetupError(
          `attachXDPFilter: ${iface} already has another XDP program attached (id ${q.progId}, ${q.mode} mode): detach it first (ip link set dev ${iface} xdp off)`,
          iface,
        );
      }
      new XdpAttachment(q.ifindex, iface, q.mode, q.progId, prog.fd).detach();
      log.warn(`Replaced the XDP filter left attached to ${iface} by an earlier run (program id ${q.progId})`);
    } finally {
      prog.close();
    }
  }

  /** Where the program is attached, and how the kernel runs it. */
  get attachments(): readonly XdpAttachment[] {
    return this.#attachments;
  }

  /** The program's per-verdict totals (undefined before start). */
  stats(): Record<XdpStatName, bigint> | undefined {
    return this.#program?.stats();
  }

  /** Detach from every interface and release the program. Idempotent. */
  stop(): void {
    for (const a of this.#attachments.splice(0)) {
      try {
        a.detach();
      } catch {
        // The interface went away (a deleted veth takes its program with it).
      }
    }
    this.#program?.close();
    this.#program = undefined;
  }
}
