import { buildNegativeSoaAnswer, DNSName, type NegativeSoa, type ResponseHeaderOptions, type SpoofOptions } from '@dnsdist-ts/dns';
import { DNSAction, type DNSActionCode } from '../../query/dns-action.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { QueryAction } from '../rule-types.js';
import { checkUint } from '../uint-argument.js';
import { withSelfGeneratedEdns } from './spoof-options.js';

/** NegativeAndSOAAction's arguments after the first, as names in text or DNSNames. */
export interface NegativeAndSOAParameters {
  zone: string | DNSName;
  ttl: number;
  mname: string | DNSName;
  rname: string | DNSName;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}

const asName = (n: string | DNSName): DNSName => (typeof n === 'string' ? DNSName.fromString(n) : n);

/**
 * dnsdist's NegativeAndSOAAction(nxd, zone, ttl, mname, rname, serial,
 * refresh, retry, expire, minimum [, {aa=, ad=, ra=}]): answer at once with
 * NXDOMAIN (`nxd` true) or NODATA, carrying the given SOA record in the
 * additional section (where dnsdist 1.7 puts it), and stop the rules.
 */
export class NegativeAndSOAAction implements QueryAction {
  readonly #soa: NegativeSoa;
  readonly #options: SpoofOptions;

  /**
   * @throws DnsNameError for a name that does not parse.
   * @throws RuleArgumentError for a TTL or SOA number outside 0 to 2^32-1.
   */
  constructor(nxd: boolean, p: NegativeAndSOAParameters, options: ResponseHeaderOptions = {}) {
    const u32 = (name: keyof NegativeAndSOAParameters): number => checkUint(`NegativeAndSOAAction.${name}`, p[name] as number, 0xffffffff);
    this.#soa = {
      nxd,
      zone: asName(p.zone),
      ttl: u32('ttl'),
      mname: asName(p.mname),
      rname: asName(p.rname),
      serial: u32('serial'),
      refresh: u32('refresh'),
      retry: u32('retry'),
      expire: u32('expire'),
      minimum: u32('minimum'),
    };
    this.#options = { ...options };
  }

  apply(dq: DNSQuestion): DNSActionCode {
    dq.replacePacket(buildNegativeSoaAnswer(dq.view, this.#soa, withSelfGeneratedEdns(this.#options, dq)));
    return DNSAction.Allow;
  }

  toString(): string {
    // dnsdist's text, double space included.
    return `${this.#soa.nxd ? 'NXD ' : 'NODATA'} with SOA`;
  }
}
