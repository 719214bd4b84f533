/**
 * What the dashboard page polls every second (`/dashboard.json`): running
 * totals (the page turns them into rates), backends, the current dynamic
 * blocks and the top blocked clients and names. Kernel figures come from
 * walking every kernel entry, which for 100,000 blocks costs tens of
 * milliseconds, so they are refreshed at most every two seconds.
 */
import type { DynBlockView, ObservabilityProviders } from '../metrics/observability-providers.js';
import type { DnsdistProxy } from '@dnsdist-ts/dataplane/server/dnsdist-proxy.js';
import type { JsonValue } from './json11-format.js';
import { blockJson } from './block-api.js';
import { TopK } from './top-k.js';

type JsonObject = { [key: string]: JsonValue };

const TOP = 10;
/** Blocks listed at most (the page shows the ones with most hits). */
const MAX_BLOCKS = 200;
const KERNEL_REFRESH_MS = 2000;
/** Above this many blocks the list is refreshed like the kernel figures, not at every poll. */
const LARGE_BLOCK_LIST = 10_000;

interface KernelSummary {
  actions: Record<string, number>;
  entries: number;
  topAddresses: Array<[string, number]>;
  topNames: Array<[string, number]>;
}

/** Blocks, top lists and count derived from the block list. */
interface BlockSummary {
  count: number;
  blocks: DynBlockView[];
}

export class DashboardData {
  readonly #proxy: DnsdistProxy;
  readonly #providers: ObservabilityProviders;
  readonly #version: string;
  #kernel: KernelSummary | undefined;
  #kernelAt = -Infinity;
  #blocks: BlockSummary | undefined;
  #blocksAt = -Infinity;

  constructor(proxy: DnsdistProxy, providers: ObservabilityProviders, version: string) {
    this.#proxy = proxy;
    this.#providers = providers;
    this.#version = version;
  }

  #kernelSummary(now: number): KernelSummary {
    if (this.#kernel && now - this.#kernelAt < KERNEL_REFRESH_MS) return this.#kernel;
    const actions: Record<string, number> = {};
    const addresses = new TopK<string>(TOP);
    const names = new TopK<string>(TOP);
    let entries = 0;
    for (const p of this.#providers.kernelCounters) {
      try {
        p.visitKernelCounters((kind, key, action, raw) => {
          const hits = typeof raw === 'number' ? raw : Number(raw);
          entries++;
          actions[action] = (actions[action] ?? 0) + hits;
          if (hits <= 0) return;
          if (kind === 'address' || kind === 'range') addresses.add(key, hits);
          else names.add(key, hits);
        });
      } catch {
        // A map that cannot be read now leaves its figures out of this refresh.
      }
    }
    this.#kernel = { actions, entries, topAddresses: addresses.sorted(), topNames: names.sorted() };
    this.#kernelAt = now;
    return this.#kernel;
  }

  /** The blocks with the most hits (at most MAX_BLOCKS), refreshed at most every two seconds when there are many. */
  #blockSummary(now: number): BlockSummary {
    if (this.#blocks && this.#blocks.count > LARGE_BLOCK_LIST && now - this.#blocksAt < KERNEL_REFRESH_MS) return this.#blocks;
    const all = this.#providers.activeBlocks();
    const best = new TopK<DynBlockView>(MAX_BLOCKS);
    // Ties in hits: the key order of the list (the engine's order) decides.
    for (let i = 0; i < all.length; i++) best.add(all[i]!, all[i]!.blocks + all[i]!.kernelHits - i / (all.length + 1));
    this.#blocks = { count: all.length, blocks: best.sorted().map(([b]) => b) };
    this.#blocksAt = now;
    return this.#blocks;
  }

  /** The document, now. */
  snapshot(now: number = performance.now()): JsonObject {
    const p = this.#proxy;
    const c = p.counters;
    let answered = 0;
    for (const f of p.frontends) answered += f.udp.responses + f.tcp.responses;
    const kernel = this.#kernelSummary(now);
    let xdp: JsonValue = null;
    try {
      const s = this.#providers.xdpStats?.xdpStats();
      if (s) {
        const toNumbers = (r: Readonly<Record<string, number | bigint>>): JsonObject =>
          Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Number(v)]));
        xdp = { verdicts: toNumbers(s.verdicts), parseFailures: toNumbers(s.parseFailures) };
      }
    } catch {
      xdp = null;
    }
    const { count, blocks } = this.#blockSummary(now);
    // A kernel-backed dynamic block also has its own kernel entry: count the larger of the two views once.
    const blockedClients = new Map<string, number>(kernel.topAddresses);
    const blockedNames = new Map<string, number>(kernel.topNames);
    for (const b of blocks) {
      const target = b.kind === 'netmask' ? blockedClients : blockedNames;
      const key = b.kind === 'netmask' ? b.key.replace(/\/(32|128)$/, '') : b.key;
      target.set(key, Math.max(target.get(key) ?? 0, b.blocks + b.kernelHits));
    }
    const top = (m: Map<string, number>) => {
      const t = new TopK<string>(TOP);
      for (const [key, hits] of m) if (hits > 0) t.add(key, hits);
      return t.sorted().map(([key, hits]) => ({ key, hits }));
    };
    return {
      version: this.#version,
      uptime: Math.floor((Date.now() - p.startedAt) / 1000),
      totals: {
        queries: c.queries,
        answered,
        responses: c.responses,
        selfAnswered: c.selfAnswered,
        cacheHits: c.cacheHits,
        cacheMisses: c.cacheMisses,
        ruleDrop: c.ruleDrop,
        dynBlocked: c.dynBlocked,
        aclDrops: c.aclDrops,
        noPolicy: c.noPolicy,
        downstreamTimeouts: c.downstreamTimeouts,
      },
      kernel: { actions: kernel.actions, entries: kernel.entries, xdp },
      latency: {
        avg100: c.latencyAvg100,
        avg1000: c.latencyAvg1000,
        buckets: [c.latency0to1, c.latency1to10, c.latency10to50, c.latency50to100, c.latency100to1000, c.latencySlow],
      },
      servers: p.servers.map((s) => ({
        name: s.name,
        address: s.addressText,
        state: s.stateText(),
        up: s.isUp(),
        latencyMs: s.latencyUsec / 1000,
        queries: s.counters.queries,
        qps: s.queryLoad,
        outstanding: s.outstanding,
      })),
      blockCount: count,
      blocks: blocks.map(blockJson),
      topBlockedClients: top(blockedClients),
      topBlockedNames: top(blockedNames),
    };
  }
}
