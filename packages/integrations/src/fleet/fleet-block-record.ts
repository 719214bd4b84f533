/**
 * The wire form of a dynamic block shared over the fleet bus, and its
 * validation. What arrives from the bus is untrusted: one compromised or
 * broken node must not be able to blackhole the fleet's clients, so every
 * field is checked and the scope guard (setDynBlocksRangeLimits) applies.
 */
import { DNSName, parseAddress } from '@dnsdist-ts/dns';
import { ClientBlockRange, type BlockScopeGuard, type DynBlock } from '@dnsdist-ts/dynblocks/dynblocks/index.js';
import { DNSAction, type DNSActionCode } from '@dnsdist-ts/dataplane/query/dns-action.js';

/** Version of the record format; a record of another version is refused and counted. */
export const FLEET_RECORD_VERSION = 1;

/** Longest reason accepted from the bus, in characters. */
export const MAX_FLEET_REASON_LENGTH = 256;

/** Actions a shared block may carry, by their names on the wire (DNSAction's Lua names). */
const WIRE_ACTIONS: ReadonlyMap<string, DNSActionCode> = new Map<string, DNSActionCode>([
  ['Drop', DNSAction.Drop],
  ['Nxdomain', DNSAction.Nxdomain],
  ['Refused', DNSAction.Refused],
  ['Truncate', DNSAction.Truncate],
  ['NoOp', DNSAction.NoOp],
  ['NoRecurse', DNSAction.NoRecurse],
]);

/** The wire name of a block action, or undefined for one that is never shared (SetTag, Allow, …). */
export function wireActionName(action: DNSActionCode): string | undefined {
  for (const [name, code] of WIRE_ACTIONS) if (code === action) return name;
  return undefined;
}

/** A block as it travels: the JSON stored under its Redis key and carried in "add" events. */
export interface FleetBlockRecord {
  readonly v: number;
  /** `net`: a client range ("192.0.2.0/24", "2001:db8::1/128", "192.0.2.1:32768/2"); `suffix`: a name and its sub-names. */
  readonly kind: 'net' | 'suffix';
  readonly key: string;
  readonly action: string;
  readonly reason: string;
  /** The node that made the block. */
  readonly origin: string;
}

/** A record that passed every check, ready for the engine. */
export interface FleetBlock {
  readonly kind: 'net' | 'suffix';
  readonly range: ClientBlockRange | undefined;
  readonly name: DNSName | undefined;
  readonly action: DNSActionCode;
  readonly reason: string;
  readonly origin: string;
  /** Milliseconds left. */
  readonly ttlMs: number;
}

/** Why a record from the bus was refused; the metric label. */
export type FleetRefusal = 'malformed' | 'version' | 'key' | 'action' | 'duration' | 'scope' | 'reason' | 'capacity';

/** A record from the bus that was not applied: `reason` is the metric label, `input` the offending text. */
export class FleetRecordError extends Error {
  readonly reason: FleetRefusal;
  readonly input: string;

  constructor(reason: FleetRefusal, input: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.reason = reason;
    this.input = input.length > 200 ? `${input.slice(0, 200)}…` : input;
  }
}

/** The record for a local block, or undefined when its action is not one the fleet shares. */
export function recordOf(block: DynBlock, effective: DNSActionCode, origin: string): FleetBlockRecord | undefined {
  const action = wireActionName(effective);
  if (action === undefined) return undefined;
  return {
    v: FLEET_RECORD_VERSION,
    kind: block.range ? 'net' : 'suffix',
    key: block.keyText(),
    action,
    reason: block.reason,
    origin,
  };
}

/** The Redis key suffix and event key of a block: "net:192.0.2.1/32", "suffix:bad.example.". */
export function blockId(kind: 'net' | 'suffix', key: string): string {
  return `${kind}:${key}`;
}

/** "192.0.2.0/24", "2001:db8::/64", "192.0.2.1:32768/2" (IPv4 /32 with leading source-port bits). */
export function parseClientRange(text: string): ClientBlockRange {
  const port = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})\/(\d{1,2})$/.exec(text);
  if (port) {
    const bits = Number(port[3]);
    const portValue = Number(port[2]);
    if (portValue > 65535 || bits < 1 || bits > 16) throw new Error(`bad port range in "${text}"`);
    return ClientBlockRange.of(parseAddress(port[1]!).bytes, portValue, 32, 128, bits);
  }
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text);
  if (!m) throw new Error(`"${text}" is not address/prefix`);
  const bytes = parseAddress(m[1]!).bytes;
  const prefix = Number(m[2]);
  const range = bytes.length === 4 ? ClientBlockRange.of(bytes, 0, prefix, 128) : ClientBlockRange.of(bytes, 0, 32, prefix);
  // A key with host bits set is not what any node writes: refuse rather than guess.
  if (range.toString() !== text) throw new Error(`"${text}" is not in canonical form (expected "${range.toString()}")`);
  return range;
}

/**
 * Check a record from the bus and turn it into a block.
 *
 * @param json the record's JSON text (a Redis value) or the parsed object (an event's `block`).
 * @param ttlMs milliseconds left, from the key's PTTL or the event.
 * @param maxSeconds the longest duration accepted.
 * @throws FleetRecordError naming what is wrong and the offending input.
 */
export function decodeFleetRecord(json: string | unknown, ttlMs: unknown, maxSeconds: number, guard: BlockScopeGuard): FleetBlock {
  const text = typeof json === 'string' ? json : (JSON.stringify(json) ?? String(json));
  let r: unknown = json;
  if (typeof json === 'string') {
    try {
      r = JSON.parse(json);
    } catch {
      throw new FleetRecordError('malformed', text, 'not JSON');
    }
  }
  if (typeof r !== 'object' || r === null || Array.isArray(r)) throw new FleetRecordError('malformed', text, 'not a JSON object');
  const o = r as Record<string, unknown>;
  if (o.v !== FLEET_RECORD_VERSION)
    throw new FleetRecordError('version', text, `record version ${String(o.v)}, this node reads ${FLEET_RECORD_VERSION}`);
  if (typeof o.key !== 'string' || typeof o.origin !== 'string' || typeof o.reason !== 'string' || typeof o.action !== 'string') {
    throw new FleetRecordError('malformed', text, 'key, origin, reason and action must be strings');
  }
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(o.origin)) throw new FleetRecordError('malformed', text, `origin "${o.origin}" is not a node name`);
  if (o.reason.length > MAX_FLEET_REASON_LENGTH) {
    throw new FleetRecordError('reason', text, `reason longer than ${MAX_FLEET_REASON_LENGTH} characters`);
  }
  const action = WIRE_ACTIONS.get(o.action);
  if (action === undefined) throw new FleetRecordError('action', text, `action "${o.action}" is not one a fleet block may carry`);
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new FleetRecordError('duration', text, `time left ${String(ttlMs)} is not a positive number of milliseconds`);
  }
  if (ttlMs > maxSeconds * 1000) {
    throw new FleetRecordError(
      'duration',
      text,
      `${Math.round(ttlMs / 1000)} s is longer than the ${maxSeconds} s this node accepts (maxSeconds)`,
    );
  }
  if (o.kind === 'net') {
    let range: ClientBlockRange;
    try {
      range = parseClientRange(o.key);
    } catch (err) {
      throw new FleetRecordError('key', text, `bad client range: ${(err as Error).message}`);
    }
    try {
      guard.checkRange(range, 'the fleet bus');
    } catch (err) {
      throw new FleetRecordError('scope', text, (err as Error).message);
    }
    return { kind: 'net', range, name: undefined, action, reason: o.reason, origin: o.origin, ttlMs };
  }
  if (o.kind === 'suffix') {
    let name: DNSName;
    try {
      name = DNSName.fromString(o.key).toLowerCase();
    } catch (err) {
      throw new FleetRecordError('key', text, `bad name: ${(err as Error).message}`);
    }
    try {
      guard.checkSuffix(name, 'the fleet bus');
    } catch (err) {
      throw new FleetRecordError('scope', text, (err as Error).message);
    }
    return { kind: 'suffix', range: undefined, name, action, reason: o.reason, origin: o.origin, ttlMs };
  }
  throw new FleetRecordError('malformed', text, `kind must be "net" or "suffix", got ${JSON.stringify(o.kind)}`);
}
