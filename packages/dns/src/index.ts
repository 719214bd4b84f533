/**
 * @dnsdist-ts/dns: DNS building blocks as dnsdist has them. DNSName,
 * strict IP address parsing and RFC 5952 formatting, Netmask,
 * NetmaskGroup (most specific range wins, with negation),
 * SuffixMatchNode, and the DNS wire format: a reusable zero-copy query
 * view, self-made responses, and response summaries. No runtime dependencies.
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
export { peerAddressBytes } from './peer-address.js';
export { Netmask } from './netmask.js';
export { NetmaskGroup } from './netmask-group.js';
export { SuffixMatchNode } from './suffix-match-node.js';
export { DnsNameError, AddressParseError, DnsPacketError } from './errors.js';
export { QType, qtypeName, parseQType } from './qtype.js';
export {
  DNS_HEADER_SIZE,
  HeaderOffset,
  Rcode,
  Opcode,
  HeaderFlag,
  OPCODE_SHIFT,
  OPCODE_MASK,
  RCODE_MASK,
  rcodeName,
  extendedRcodeName,
  parseRcode,
  readId,
  writeId,
  readFlags,
  writeFlags,
} from './dns-header.js';
export { DnsQueryView, type DnsQueryParseError } from './dns-query-view.js';
export {
  makeRcodeResponse,
  replaceSelfGeneratedOpt,
  stripTruncatedAnswer,
  makeTruncatedResponse,
  buildSpoofedAnswer,
  spoofAnswerApplies,
  resetQueryTurnedResponseOpt,
  buildNegativeSoaAnswer,
  type NegativeSoa,
  DEFAULT_SPOOF_TTL,
  DEFAULT_SELF_GENERATED_PAYLOAD_SIZE,
  type ResponseHeaderOptions,
  type SpoofAnswer,
  type SpoofOptions,
} from './dns-answer-builder.js';
export { readResponseSummary, createResponseSummary, decreaseTtls, questionMatches, type ResponseSummary } from './dns-response-reader.js';
export { skipWireName } from './wire-name-skip.js';
export {
  DNSSection,
  dnsMessageEnd,
  countRecordsOfType,
  findOptRecord,
  ednsVersionAt,
  ednsExtendedRcodeAt,
  findEdnsOption,
  removeOptRecord,
  withEdnsOption,
} from './dns-record-walk.js';
export {
  EDNS_OPTION_ECS,
  MAX_CLIENT_SUBNET_OPTION_SIZE,
  CLIENT_SUBNET_QUERY_GROWTH,
  ClientSubnetEdit,
  writeClientSubnetOption,
  setClientSubnetInQuery,
  removeClientSubnetFromAnswer,
} from './edns-client-subnet.js';
export {
  SVC_PARAM_KEYS,
  svcRdata,
  svcHints,
  buildSvcAnswer,
  type SvcRecordParameters,
  type SvcHint,
  type SvcAnswerOptions,
} from './svc-record.js';
export {
  PROXY_PROTOCOL_V2_SIGNATURE,
  PROXY_PROTOCOL_FIXED_SIZE,
  PROXY_PROTOCOL_DEFAULT_MAX_PAYLOAD,
  ProxyProtocolEncodeError,
  ProxyProtocolParse,
  proxyProtocolHeaderSize,
  makeLocalProxyProtocolHeader,
  writeProxyProtocolHeader,
  makeProxyProtocolHeader,
  parseProxyProtocolHeader,
  type ProxyProtocolValue,
  type ProxyProtocolHeader,
} from './proxy-protocol.js';
