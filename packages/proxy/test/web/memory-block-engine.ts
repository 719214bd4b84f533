/**
 * A dynamic-block engine in memory for the observability tests: it keeps
 * blocks with real expiry (performance.now()), counts insertions,
 * refreshes and expiries, and implements every provider interface the
 * webserver reads. The proxy's own engine (src/dynblocks) plugs in the
 * same way; these tests pin down the HTTP side independently of it.
 */
import type {
  BlockControl,
  BlockKind,
  BlockRequest,
  DynBlockEngineStats,
  DynBlockEngineStatsProvider,
  DynBlockListProvider,
  DynBlockView,
} from '@dnsdist-ts/web/metrics/observability-providers.js';

const ACTION_TEXT: Record<string, string> = {
  Drop: 'Drop',
  NoOp: 'Do nothing',
  Nxdomain: 'Send NXDomain',
  Refused: 'Send Refused',
  Truncate: 'Truncate over UDP',
  NoRecurse: 'Set rd=0',
};

interface Entry {
  kind: BlockKind;
  key: string;
  reason: string;
  action: string;
  until: number;
  blocks: number;
  kernelHits: number;
  ebpf: boolean;
}

export class MemoryBlockEngine implements DynBlockListProvider, BlockControl, DynBlockEngineStatsProvider {
  readonly #entries = new Map<string, Entry>();
  insertions = 0;
  refreshes = 0;
  expiries = 0;
  /** Which kinds and actions "the kernel" takes (the rest stays userspace-only). */
  kernelKinds = new Set<BlockKind>(['address']);

  #key(kind: BlockKind, target: string): string {
    return `${kind}|${this.#normalise(kind, target)}`;
  }

  #normalise(kind: BlockKind, target: string): string {
    if (kind === 'address') return target.includes('/') ? target : `${target}/${target.includes(':') ? 128 : 32}`;
    if (kind === 'name' || kind === 'suffix') return target.endsWith('.') ? target.toLowerCase() : `${target.toLowerCase()}.`;
    return target;
  }

  #expire(now: number): void {
    for (const [k, e] of this.#entries) {
      if (e.until <= now) {
        this.#entries.delete(k);
        this.expiries++;
      }
    }
  }

  addBlock(r: BlockRequest): DynBlockView {
    if (r.kind === 'address' && !/^[0-9a-fA-F:.]+$/.test(r.target)) throw new Error(`"${r.target}" is not an IP address`);
    const now = performance.now();
    this.#expire(now);
    const id = this.#key(r.kind, r.target);
    const existing = this.#entries.get(id);
    const until = now + r.seconds * 1000;
    if (existing) {
      existing.until = Math.max(existing.until, until);
      this.refreshes++;
      return this.#view(existing, now);
    }
    const e: Entry = {
      kind: r.kind,
      key: this.#normalise(r.kind, r.target),
      reason: r.reason,
      action: ACTION_TEXT[r.action] ?? r.action,
      until,
      blocks: 0,
      kernelHits: 0,
      ebpf: this.kernelKinds.has(r.kind) && (r.action === 'Drop' || r.action === 'Truncate'),
    };
    this.#entries.set(id, e);
    this.insertions++;
    return this.#view(e, now);
  }

  removeBlock(kind: BlockKind, target: string): boolean {
    return this.#entries.delete(this.#key(kind, target));
  }

  /** Pretend traffic hit a block. */
  hit(kind: BlockKind, target: string, userspace: number, kernel = 0): void {
    const e = this.#entries.get(this.#key(kind, target));
    if (!e) throw new Error(`no ${kind} block for ${target}`);
    e.blocks += userspace;
    e.kernelHits += kernel;
  }

  #view(e: Entry, now: number): DynBlockView {
    return {
      kind: e.kind === 'address' || e.kind === 'range' ? 'netmask' : 'suffix',
      key: e.key,
      reason: e.reason,
      action: e.action,
      seconds: Math.max(0, Math.floor((e.until - now) / 1000)),
      blocks: e.blocks,
      kernelHits: e.kernelHits,
      warning: false,
      ebpf: e.ebpf,
    };
  }

  activeBlocks(): DynBlockView[] {
    const now = performance.now();
    const out = [...this.#entries.values()].filter((e) => e.until > now).map((e) => this.#view(e, now));
    return out.sort((a, b) => (a.kind === b.kind ? (a.key < b.key ? -1 : 1) : a.kind === 'netmask' ? -1 : 1));
  }

  nmgSize(): number {
    return [...this.#entries.values()].filter((e) => e.kind === 'address' || e.kind === 'range').length;
  }

  engineStats(): DynBlockEngineStats {
    return {
      insertions: this.insertions,
      refreshes: this.refreshes,
      expiries: this.expiries,
      kernelInsertFailures: { 'table-full': 2 },
      timeToBlock: { bounds: [0.1, 1, 10], counts: [3, 1, 0, 1], sum: 12.5 },
    };
  }
}
