import { DNSResponseAction, type DNSResponseActionCode } from '../../query/dns-action.js';
import type { DNSResponse } from '../../query/dns-response.js';
import type { ResponseAction } from '../rule-types.js';

/** dnsdist's DropResponseAction(): drop the answer; the client gets nothing. */
export class DropResponseAction implements ResponseAction {
  applyResponse(_dr: DNSResponse): DNSResponseActionCode {
    return DNSResponseAction.Drop;
  }

  toString(): string {
    return 'drop';
  }
}
