import type { DNSActionCode, DNSResponseActionCode } from '../query/dns-action.js';
import type { DNSQuestion } from '../query/dns-question.js';
import type { DNSResponse } from '../query/dns-response.js';

/** A rule selector (dnsdist's DNSRule): decides whether its action runs. */
export interface Selector {
  matches(dq: DNSQuestion): boolean;
  /** dnsdist's description, as `showRules()` prints it. */
  toString(): string;
}

/** A response selector: dnsdist evaluates the same rule objects on responses. */
export interface ResponseSelector {
  matchesResponse(dr: DNSResponse): boolean;
  toString(): string;
}

/** A query action (dnsdist's DNSAction). May change `dq`; returns what to do next. */
export interface QueryAction {
  apply(dq: DNSQuestion): DNSActionCode;
  toString(): string;
}

/** A response action (dnsdist's DNSResponseAction). */
export interface ResponseAction {
  applyResponse(dr: DNSResponse): DNSResponseActionCode;
  toString(): string;
}

/**
 * A selector usable in query and response chains alike: in dnsdist every
 * rule object works on both, reading the query's name and addresses and
 * the header of whichever packet it is given.
 */
export type DNSRule = Selector & ResponseSelector;
