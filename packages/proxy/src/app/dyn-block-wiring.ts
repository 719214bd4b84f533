import { DynamicBlocks, DynBlockQueryCheck, FastDetector, type DynBlockRulesGroup } from '@dnsdist-ts/dynblocks/dynblocks/index.js';
import type { DefaultBpfFilterRegistry } from '@dnsdist-ts/ebpf/ebpf/default-bpf-filter-registry.js';
import { HIT_FOLD_SLICE_MS } from '@dnsdist-ts/dynblocks/dynblocks/kernel-mirror.js';
import { EventLoopSlicer } from '@dnsdist-ts/web/metrics/event-loop-slicer.js';
import type { DnsdistProxy } from '@dnsdist-ts/dataplane/server/dnsdist-proxy.js';

/** The dynamic-block objects one program runs with, made by wireDynamicBlocks. */
export interface DynBlockWiring {
  /** The address and suffix block tables and their kernel copies. */
  readonly blocks: DynamicBlocks;
  /** The per-query check, installed on the proxy. */
  readonly check: DynBlockQueryCheck;
  /** The rules groups the configuration made (dynBlockRulesGroup()); the fast detector reads them. */
  readonly groups: Set<DynBlockRulesGroup>;
  /** setDynBlocksFastDetection's observer (idle until the check is given it). */
  readonly fast: FastDetector;
}

/**
 * Build the dynamic blocks of `proxy` and connect them: the per-query check
 * on the proxy, the tables following the default BPF filter's kernel sink
 * (`defaultFilter`, which ProxyEbpf sets), and the tables' housekeeping
 * after each proxy tick. The Lua layer (lua/bind-dynblocks.ts) only
 * registers functions over what this returns.
 */
export function wireDynamicBlocks(proxy: DnsdistProxy, defaultFilter: DefaultBpfFilterRegistry): DynBlockWiring {
  const log = proxy.log;
  const blocks = new DynamicBlocks(proxy.counters, log);
  const check = new DynBlockQueryCheck(blocks, proxy.counters, log);
  proxy.dynBlocks = check;
  // setDefaultBPFFilter publishes its kernel sink here; eligible blocks are mirrored into it from then on.
  defaultFilter.onChange((sink) => blocks.setKernelSink(sink));

  // Block housekeeping (kernel copies of expired blocks, the purge: O(expired)) runs every tick, and a
  // pass over the kernel hit counters starts when due, read in slices so that many copies never hold the loop.
  proxy.addTickHook((now) => {
    try {
      blocks.tick(now);
    } catch (err) {
      log.error(`Error in the dynamic block maintenance: ${(err as Error).message}`);
    }
    blocks.kernel.foldHitsIfDue(now, new EventLoopSlicer(HIT_FOLD_SLICE_MS))?.catch((err: unknown) => {
      log.error(`Error reading the kernel hits of dynamic blocks: ${(err as Error).message}`);
    });
  });

  const groups = new Set<DynBlockRulesGroup>();
  const fast = new FastDetector(
    () => groups,
    (err) => log.warn(`Error in a fast dynamic block pass: ${err.message}`),
  );
  return { blocks, check, groups, fast };
}
