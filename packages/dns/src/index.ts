/**
 * @dnsdist-ts/dns: DNS building blocks as dnsdist has them. DNSName,
 * strict IP address parsing and RFC 5952 formatting, Netmask,
 * NetmaskGroup (most specific range wins, with negation) and
 * SuffixMatchNode. No runtime dependencies.
 */
export { DNSName, MAX_LABEL_LENGTH, MAX_NAME_LENGTH, type WireNameRead } from './dns-name.js';
export {
  parseIPv4,
  parseIPv6,
  parseAddress,
  parseAddressWithPort,
  formatIPv4,
  formatIPv6,
  formatAddress,
  formatAddressWithPort,
  type AddressFamily,
  type IpAddress,
  type IpAddressWithPort,
} from './ip-address.js';
export { Netmask } from './netmask.js';
export { NetmaskGroup } from './netmask-group.js';
export { SuffixMatchNode } from './suffix-match-node.js';
export { DnsNameError, AddressParseError } from './errors.js';
export { QType, qtypeName, parseQType } from './qtype.js';
