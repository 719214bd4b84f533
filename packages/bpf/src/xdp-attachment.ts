import type { BpfProgram } from './bpf-program.js';
import { BpfError, call } from './errors.js';
import { native } from './native.js';

export type XdpMode = 'auto' | 'native' | 'generic';
/** How the kernel actually runs an attached program. */
export type XdpAttachedMode = 'none' | 'native' | 'generic' | 'offload' | 'multi';

const XDP_FLAGS_UPDATE_IF_NOEXIST = 1 << 0;
const XDP_FLAGS_SKB_MODE = 1 << 1;
const XDP_FLAGS_DRV_MODE = 1 << 2;

const ATTACHED: Record<number, XdpAttachedMode> = { 0: 'none', 1: 'native', 2: 'generic', 3: 'offload', 4: 'multi' };

export interface XdpStatus {
  ifindex: number;
  mode: XdpAttachedMode;
  /** Id of the attached program (0 when none). */
  progId: number;
  nativeProgId: number;
  genericProgId: number;
}

function modeFlags(mode: XdpMode): number {
  return mode === 'native' ? XDP_FLAGS_DRV_MODE : mode === 'generic' ? XDP_FLAGS_SKB_MODE : 0;
}

/** Resolve an interface name (or index) in this network namespace. */
export function interfaceIndex(iface: string | number): number {
  if (typeof iface === 'number') return iface;
  return call('interface lookup', iface, () => native().ifIndex(iface));
}

/** What XDP program, if any, is attached to an interface, and in which mode. */
export function queryXdp(iface: string | number): XdpStatus {
  const ifindex = interfaceIndex(iface);
  const q = call('XDP query', String(iface), () => native().xdpQuery(ifindex));
  return { ifindex, mode: ATTACHED[q.attachMode] ?? 'none', progId: q.progId, nativeProgId: q.drvProgId, genericProgId: q.skbProgId };
}

/** A program attached to an interface; detach() removes exactly that program. */
export class XdpAttachment {
  #attached = true;
  constructor(
    readonly ifindex: number,
    readonly iface: string,
    /** The mode the kernel used (auto resolves to native or generic). */
    readonly mode: XdpAttachedMode,
    readonly progId: number,
    private readonly progFd: number,
  ) {}

  get attached(): boolean {
    return this.#attached;
  }

  /** Detach, only if our program is still the one attached. Idempotent. */
  detach(): void {
    if (!this.#attached) return;
    const flags = this.mode === 'generic' ? XDP_FLAGS_SKB_MODE : this.mode === 'native' ? XDP_FLAGS_DRV_MODE : 0;
    call('XDP detach', this.iface, () => native().xdpDetach(this.ifindex, flags, this.progFd));
    this.#attached = false;
  }
}

/**
 * Attach an XDP program to an interface. Refuses (BpfBusyError) when
 * another program is attached, rather than replacing it silently.
 */
export function attachXdp(prog: BpfProgram, iface: string | number, mode: XdpMode = 'auto'): XdpAttachment {
  const ifindex = interfaceIndex(iface);
  const name = typeof iface === 'string' ? iface : call('interface lookup', String(iface), () => native().ifName(iface));
  call('XDP attach', name, () => native().xdpAttach(ifindex, prog.fd, XDP_FLAGS_UPDATE_IF_NOEXIST | modeFlags(mode)));
  const status = queryXdp(ifindex);
  if (status.mode === 'none') {
    throw new BpfError(`XDP attach (${name}): the kernel reports no program attached afterwards`, {
      code: 'EIO',
      op: 'XDP attach',
      target: name,
    });
  }
  return new XdpAttachment(ifindex, name, status.mode, status.progId, prog.fd);
}
