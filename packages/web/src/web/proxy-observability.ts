/**
 * Plug the proxy's dynamic-block engine and eBPF side into the
 * observability providers: one call from the application.
 */
import type { BlockScopeGuard } from '@dnsdist-ts/dynblocks/dynblocks/index.js';
import { DynamicBlocksSource, type DynamicBlocksEngine } from '../metrics/dynamic-blocks-source.js';
import type { ObservabilityProviders } from '../metrics/observability-providers.js';
import { ebpfKernelCounters, ebpfRegisteredBlockList, ebpfXdpStats, type EbpfSide } from '../metrics/proxy-ebpf-sources.js';

export interface ProxyObservabilityParts {
  readonly dynBlocks: DynamicBlocksEngine;
  /** How wide a block added through the block API may be. */
  readonly blockScope: BlockScopeGuard;
  readonly ebpf: EbpfSide & { readonly defaultFilter: { readonly failures: { byReason(): Record<string, number> } } };
}

export function connectProxyObservability(providers: ObservabilityProviders, parts: ProxyObservabilityParts): void {
  providers.dynBlocks = new DynamicBlocksSource(
    parts.dynBlocks,
    () => parts.ebpf.defaultFilter.failures.byReason(),
    undefined,
    parts.blockScope,
  );
  providers.kernelCounters.push(ebpfKernelCounters(parts.ebpf));
  providers.ebpfBlockList = ebpfRegisteredBlockList(parts.ebpf);
  providers.xdpStats = ebpfXdpStats(parts.ebpf);
}
