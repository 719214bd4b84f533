import { DNSResponseAction, type DNSResponseActionCode } from '../../query/dns-action.js';
import type { DNSResponse } from '../../query/dns-response.js';
import type { ResponseAction } from '../rule-types.js';

/** dnsdist's AllowResponseAction(): stop the response rules and send the answer. */
export class AllowResponseAction implements ResponseAction {
  applyResponse(_dr: DNSResponse): DNSResponseActionCode {
    return DNSResponseAction.Allow;
  }

  toString(): string {
    return 'allow';
  }
}
