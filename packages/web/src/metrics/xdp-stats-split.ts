import type { XdpStatsSnapshot } from './observability-providers.js';

/** "DropAddress" → "drop_address". */
function snakeCase(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

/**
 * Split the XDP filter's named totals (contrib/xdp-filter's `readXdpStats`,
 * keys such as `DropAddress` or `ParseTruncated`) into verdicts and parse
 * failures, with snake_case names for the metric labels:
 *
 * ```ts
 * providers.xdpStats = { xdpStats: () => splitXdpStats(readXdpStats(filter.statsMap)) };
 * ```
 */
export function splitXdpStats(totals: Readonly<Record<string, number | bigint>>): XdpStatsSnapshot {
  const verdicts: Record<string, number | bigint> = {};
  const parseFailures: Record<string, number | bigint> = {};
  for (const [name, value] of Object.entries(totals)) {
    if (name.startsWith('Parse')) parseFailures[snakeCase(name.slice('Parse'.length))] = value;
    else verdicts[snakeCase(name)] = value;
  }
  return { verdicts, parseFailures };
}
