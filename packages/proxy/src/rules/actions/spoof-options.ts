import type { ResponseHeaderOptions } from '@dnsdist-ts/dns';
import { checkUint } from '../uint-argument.js';

/** Options of SpoofAction / SpoofCNAMEAction, as in dnsdist's `{aa=, ad=, ra=, ttl=}` table. */
export interface SpoofActionOptions extends ResponseHeaderOptions {
  /** TTL of the forged records in seconds. Default 60. */
  ttl?: number;
}

/**
 * Check spoof options once, at construction.
 *
 * @throws RuleArgumentError for a TTL outside 0 to 2^32-1.
 */
export function checkSpoofOptions(owner: string, options: SpoofActionOptions): SpoofActionOptions {
  if (options.ttl !== undefined) checkUint(`${owner}.ttl`, options.ttl, 0xffffffff);
  return { ...options };
}
