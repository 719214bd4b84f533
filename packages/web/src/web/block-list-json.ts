/**
 * `/jsonstat?command=dynblocklist` and `ebpfblocklist`, in the newer
 * dnsdist shapes (1.8.3+) that say which blocks the kernel enforces and
 * count its hits in `blocks`:
 *
 *     dynblocklist:  {"192.0.2.1/32": {"action": "Drop", "blocks": 12, "ebpf": true, "reason": "…", "seconds": 56, "warning": false},
 *                     "example.com.": {"action": "Send Refused", "blocks": 3, "ebpf": false, "reason": "…", "seconds": 40}}
 *     ebpfblocklist: {"198.51.100.7": {"blocks": 0, "seconds": 30},                  ← registerDynBPFFilter'd filters
 *                     "192.0.2.1/32": {"action": "Drop", "blocks": 12, "reason": "…", "seconds": 56, "warning": false}}
 */
import type { DynBlockView, RegisteredFilterBlock } from '../metrics/observability-providers.js';
import type { JsonValue } from './json11-format.js';

type JsonObject = { [key: string]: JsonValue };

export function dynBlockListJson(blocks: readonly DynBlockView[]): JsonObject {
  const out: JsonObject = {};
  for (const b of blocks) {
    const entry: JsonObject = { action: b.action, blocks: b.blocks + b.kernelHits, ebpf: b.ebpf, reason: b.reason, seconds: b.seconds };
    if (b.kind === 'netmask') entry.warning = b.warning;
    // Only for nodes in a fleet, so a lone node's document stays dnsdist's.
    if (b.origin !== undefined) entry.origin = b.origin;
    out[b.key] = entry;
  }
  return out;
}

export function ebpfBlockListJson(registered: readonly RegisteredFilterBlock[], blocks: readonly DynBlockView[]): JsonObject {
  const out: JsonObject = {};
  for (const r of registered) out[r.address] = { blocks: r.blocks, seconds: r.seconds };
  for (const b of blocks) {
    if (b.kind !== 'netmask' || !b.ebpf) continue;
    out[b.key] = { action: b.action, blocks: b.blocks + b.kernelHits, reason: b.reason, seconds: b.seconds, warning: b.warning };
  }
  return out;
}
