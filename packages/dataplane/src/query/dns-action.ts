/**
 * What a rule action asks the query path to do next, with dnsdist's
 * `DNSAction.*` numbering (the Lua constants carry these exact values).
 */
export const DNSAction = {
  Drop: 0,
  Nxdomain: 1,
  Refused: 2,
  Spoof: 3,
  Allow: 4,
  HeaderModify: 5,
  Pool: 6,
  Delay: 7,
  Truncate: 8,
  ServFail: 9,
  None: 10,
  NoOp: 11,
  NoRecurse: 12,
  SpoofRaw: 13,
  SpoofPacket: 14,
  SetTag: 15,
} as const;

export type DNSActionCode = (typeof DNSAction)[keyof typeof DNSAction];

/** What a response rule action asks for, with dnsdist's `DNSResponseAction.*` numbering. */
export const DNSResponseAction = {
  Allow: 0,
  Delay: 1,
  Drop: 2,
  HeaderModify: 3,
  ServFail: 4,
  None: 5,
} as const;

export type DNSResponseActionCode = (typeof DNSResponseAction)[keyof typeof DNSResponseAction];
