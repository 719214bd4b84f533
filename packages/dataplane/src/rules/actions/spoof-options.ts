import type { ResponseHeaderOptions, SpoofOptions } from '@dnsdist-ts/dns';
import type { DNSQuestion } from '../../query/dns-question.js';
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
export function checkSpoofOptions(owner: string, options: SpoofActionOptions): SpoofOptions {
  if (options.ttl !== undefined) checkUint(`${owner}.ttl`, options.ttl, 0xffffffff);
  return { ...options };
}

/**
 * An action's answer options with the OPT record settings in force for `dq`
 * (setAddEDNSToSelfGeneratedResponses, setPayloadSizeOnSelfGeneratedAnswers),
 * read at answer time because the configuration may set them after the
 * action was made. Writes into the action's own `options`: nothing allocated.
 */
export function withSelfGeneratedEdns(options: SpoofOptions, dq: DNSQuestion): SpoofOptions {
  options.addEdns = dq.selfGeneratedEdns.addEDNSToSelfGeneratedResponses;
  options.ednsPayloadSize = dq.selfGeneratedEdns.payloadSizeOnSelfGeneratedAnswers;
  return options;
}
