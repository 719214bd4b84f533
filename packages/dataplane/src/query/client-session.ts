/**
 * What a query knows of the encrypted session it came in on (DoT today,
 * DoH later): dnsdist's protocol name and the client's SNI. Plain UDP and
 * TCP queries have none.
 */
export interface ClientSession {
  /** dnsdist's name of the protocol: "DNS over TLS", "DNS over HTTPS". */
  readonly protocolName: string;
  /** The server name the client asked for in its TLS ClientHello; "" without SNI. */
  readonly serverName: string;
}
