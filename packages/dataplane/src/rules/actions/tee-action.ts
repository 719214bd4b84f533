import dgram from 'node:dgram';
import {
  CLIENT_SUBNET_QUERY_GROWTH,
  ClientSubnetEdit,
  formatAddress,
  formatAddressWithPort,
  makeProxyProtocolHeader,
  MAX_CLIENT_SUBNET_OPTION_SIZE,
  parseAddressWithPort,
  Rcode,
  setClientSubnetInQuery,
  type IpAddressWithPort,
} from '@dnsdist-ts/dns';
import { writeQueryClientSubnet } from '../../query/client-subnet-option.js';
import { DNSAction, type DNSActionCode } from '../../query/dns-action.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { QueryAction } from '../rule-types.js';
import { ADDED_OPT_PAYLOAD_SIZE } from './set-edns-option-action.js';

/** TeeAction's counters, under dnsdist's names (getStats / printStats). */
export interface TeeStats {
  queries: number;
  responses: number;
  'recv-errors': number;
  'send-errors': number;
  noerrors: number;
  nxdomains: number;
  refuseds: number;
  servfails: number;
  'other-rcode': number;
  'tcp-drops': number;
}

/** dnsdist's printStats text: one "name\tvalue" line per counter, sorted by name. */
export function formatTeeStats(stats: TeeStats): string {
  return Object.entries(stats)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}\t${v}\n`)
    .join('');
}

/**
 * dnsdist's TeeAction(remote): send a copy of every UDP query (same ID,
 * same bytes) to `remote` over UDP and count the answers that come back by
 * RCODE; TCP queries are only counted in tcp-drops. Goes on to the next
 * rule: the query itself is handled as if the rule were not there. The
 * socket is opened on the first copy and closed by `close()`.
 *
 * With `addECS`, the copy carries the client's subnet as EDNS Client
 * Subnet, made as for a backend with useClientSubnet (the query's prefix
 * length, override switch and SetECSAction subnet); a copy that cannot take
 * the option is not sent, as in dnsdist.
 */
export class TeeAction implements QueryAction {
  readonly remote: IpAddressWithPort;
  readonly addECS: boolean;
  /** TeeAction's addProxyProtocol: the copy starts with a proxy protocol v2 header, as for a useProxyProtocol backend. */
  readonly addProxyProtocol: boolean;
  readonly #stats: TeeStats = {
    queries: 0,
    responses: 0,
    'recv-errors': 0,
    'send-errors': 0,
    noerrors: 0,
    nxdomains: 0,
    refuseds: 0,
    servfails: 0,
    'other-rcode': 0,
    'tcp-drops': 0,
  };
  readonly #remoteText: string;
  #socket: dgram.Socket | undefined;
  #closed = false;
  readonly #ecsOption = new Uint8Array(MAX_CLIENT_SUBNET_OPTION_SIZE);
  readonly #ecsEdit = new ClientSubnetEdit();

  /** @throws AddressParseError for a remote that is not "ip" or "ip:port" (port 53 by default). */
  constructor(remote: string, addECS = false, addProxyProtocol = false) {
    this.remote = parseAddressWithPort(remote, 53);
    this.#remoteText = formatAddress(this.remote.bytes);
    this.addECS = addECS;
    this.addProxyProtocol = addProxyProtocol;
  }

  apply(dq: DNSQuestion): DNSActionCode {
    const stats = this.#stats;
    // dnsdist's overTCP: DoH queries (forwarded over UDP) are not copied either.
    if (dq.overTcp()) {
      stats['tcp-drops']++;
      return DNSAction.None;
    }
    stats.queries++;
    const socket = this.#open();
    if (!socket) {
      stats['send-errors']++;
      return DNSAction.None;
    }
    // The question's buffer is reused for the next query before the send may complete: send a copy.
    let copy: Buffer;
    if (this.addECS) {
      copy = Buffer.allocUnsafe(dq.length + CLIENT_SUBNET_QUERY_GROWTH);
      dq.packet.copy(copy, 0, 0, dq.length);
      const size = writeQueryClientSubnet(dq, this.#ecsOption);
      const edit = this.#ecsEdit;
      if (!setClientSubnetInQuery(copy, dq.length, this.#ecsOption, size, dq.ecsOverride, ADDED_OPT_PAYLOAD_SIZE, edit)) {
        return DNSAction.None;
      }
      copy = copy.subarray(0, edit.length);
    } else {
      copy = Buffer.from(dq.bytes());
    }
    if (this.addProxyProtocol) {
      // A client whose addresses mix families cannot be described: no copy, as no header can be made.
      if (dq.remote.family !== dq.local.family) return DNSAction.None;
      const r = dq.remote;
      const l = dq.local;
      copy = Buffer.concat([makeProxyProtocolHeader(false, r.bytes, r.port, l.bytes, l.port, dq.proxyProtocolValues), copy]);
    }
    socket.send(copy, this.remote.port, this.#remoteText, (err) => {
      if (err) stats['send-errors']++;
    });
    return DNSAction.None;
  }

  /** A snapshot of the counters. */
  getStats(): TeeStats {
    return { ...this.#stats };
  }

  /** dnsdist's printStats text: one "name\tvalue" line per counter, sorted by name. */
  printStats(): string {
    return formatTeeStats(this.#stats);
  }

  /** Stop teeing and release the socket; later queries count as send errors. */
  close(): void {
    this.#closed = true;
    this.#socket?.close();
    this.#socket = undefined;
  }

  toString(): string {
    return `tee to ${formatAddressWithPort(this.remote)}`;
  }

  #open(): dgram.Socket | undefined {
    if (this.#socket || this.#closed) return this.#socket;
    const socket = dgram.createSocket(this.remote.family === 6 ? 'udp6' : 'udp4');
    // Only the remote's answers count; datagrams from anywhere else are ignored. (The socket is not
    // connect()ed: that completes asynchronously, and sends made before then would fail.)
    socket.on('message', (msg, rinfo) => {
      if (rinfo.port === this.remote.port && rinfo.address === this.#remoteText) this.#count(msg);
    });
    socket.on('error', () => this.#stats['recv-errors']++);
    socket.unref();
    this.#socket = socket;
    return socket;
  }

  #count(msg: Buffer): void {
    const stats = this.#stats;
    if (msg.length < 12) {
      stats['recv-errors']++;
      return;
    }
    stats.responses++;
    const rcode = msg[3]! & 0x0f;
    if (rcode === Rcode.NoError) stats.noerrors++;
    else if (rcode === Rcode.NXDomain) stats.nxdomains++;
    else if (rcode === Rcode.Refused) stats.refuseds++;
    else if (rcode === Rcode.ServFail) stats.servfails++;
    else stats['other-rcode']++;
  }
}
