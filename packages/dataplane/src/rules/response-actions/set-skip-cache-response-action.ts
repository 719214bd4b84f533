import { DNSResponseAction, type DNSResponseActionCode } from '../../query/dns-action.js';
import type { DNSResponse } from '../../query/dns-response.js';
import type { ResponseAction } from '../rule-types.js';

/**
 * dnsdist's SetSkipCacheResponseAction(): the answer is sent but not
 * stored in the packet cache. Goes on to the next response rule.
 */
export class SetSkipCacheResponseAction implements ResponseAction {
  applyResponse(dr: DNSResponse): DNSResponseActionCode {
    dr.question.skipCache = true;
    return DNSResponseAction.None;
  }

  toString(): string {
    return 'skip cache';
  }
}
