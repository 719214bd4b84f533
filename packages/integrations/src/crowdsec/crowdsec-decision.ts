/**
 * A decision from the CrowdSec Local API's stream, checked. What the LAPI
 * sends is untrusted input: a compromised or misconfigured CrowdSec must
 * not be able to blackhole every client, so the scope, value, type,
 * duration and the scope guard (setDynBlocksRangeLimits) are all checked.
 */
import { parseAddress } from '@dnsdist-ts/dns';
import { ClientBlockRange, type BlockScopeGuard } from '@dnsdist-ts/dynblocks/dynblocks/index.js';
import type { DNSActionCode } from '@dnsdist-ts/dataplane/query/dns-action.js';

/** Why a decision was refused (the reason label of dnsdist_ts_crowdsec_decisions_refused_total). */
export type DecisionRefusal = 'malformed' | 'scope' | 'value' | 'type' | 'duration' | 'range' | 'capacity';

export class DecisionError extends Error {
  readonly reason: DecisionRefusal;
  /** The offending decision, as JSON text. */
  readonly input: string;

  constructor(reason: DecisionRefusal, input: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.reason = reason;
    this.input = input;
  }
}

export interface CheckedDecision {
  readonly id: number;
  readonly range: ClientBlockRange;
  /** The range's text, the key the bouncer tracks decisions by. */
  readonly key: string;
  readonly type: string;
  /** Undefined for a deleted decision (its type needs no action). */
  readonly action: DNSActionCode | undefined;
  /** Milliseconds left (0 or less for a deleted or expired decision). */
  readonly ttlMs: number;
  readonly reason: string;
}

const GO_UNITS: Readonly<Record<string, number>> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 1e-3, µs: 1e-3, ns: 1e-6 };

/** A Go time.Duration string ("4h0m0s", "59m58.8s", "-15.4ms") in milliseconds, or undefined. */
export function parseGoDuration(text: string): number | undefined {
  const m = /^(-?)((?:\d+(?:\.\d+)?(?:h|ms|us|µs|ns|m|s))+)$/.exec(text);
  if (!m) return text === '0' ? 0 : undefined;
  let ms = 0;
  for (const part of m[2]!.matchAll(/(\d+(?:\.\d+)?)(h|ms|us|µs|ns|m|s)/g)) ms += Number(part[1]) * GO_UNITS[part[2]!]!;
  return m[1] ? -ms : ms;
}

/** An `Ip` or `Range` value as a block range; a range's host bits are cleared (CrowdSec matches the whole network). */
function rangeOf(scope: string, value: string): ClientBlockRange {
  if (scope === 'ip') {
    const bytes = parseAddress(value).bytes;
    return ClientBlockRange.of(bytes, 0, 32, 128);
  }
  const m = /^([^/]+)\/(\d{1,3})$/.exec(value);
  if (!m) throw new Error('not address/prefix');
  const bytes = parseAddress(m[1]!).bytes;
  const prefix = Number(m[2]);
  if (prefix > bytes.length * 8) throw new Error(`prefix /${prefix} is longer than the address`);
  return bytes.length === 4 ? ClientBlockRange.of(bytes, 0, prefix, 128) : ClientBlockRange.of(bytes, 0, 32, prefix);
}

/**
 * Check one decision of the stream's `new` or `deleted` list.
 *
 * @param deleted a decision of the `deleted` list: its type and duration are not checked.
 * @throws DecisionError naming the reason and the offending decision.
 */
export function checkDecision(
  d: unknown,
  deleted: boolean,
  actions: ReadonlyMap<string, DNSActionCode>,
  maxSeconds: number,
  guard: BlockScopeGuard,
): CheckedDecision {
  const text = JSON.stringify(d) ?? String(d);
  if (typeof d !== 'object' || d === null || Array.isArray(d)) throw new DecisionError('malformed', text, 'not a JSON object');
  const o = d as Record<string, unknown>;
  if (typeof o.id !== 'number' || !Number.isInteger(o.id)) throw new DecisionError('malformed', text, 'no numeric id');
  if (typeof o.scope !== 'string' || typeof o.value !== 'string' || typeof o.type !== 'string' || typeof o.duration !== 'string') {
    throw new DecisionError('malformed', text, 'scope, value, type and duration must be strings');
  }
  const scope = o.scope.toLowerCase();
  if (scope !== 'ip' && scope !== 'range') {
    throw new DecisionError('scope', text, `scope "${o.scope}" is not one a DNS proxy can enforce (Ip and Range are)`);
  }
  let range: ClientBlockRange;
  try {
    range = rangeOf(scope, o.value);
  } catch (err) {
    throw new DecisionError('value', text, `"${o.value}" is not a valid ${o.scope}: ${(err as Error).message}`);
  }
  let action: DNSActionCode | undefined;
  let ttlMs = 0;
  if (!deleted) {
    action = actions.get(o.type);
    if (action === undefined) {
      throw new DecisionError(
        'type',
        text,
        `decision type "${o.type}" has no action (setCrowdSecBouncer's actions map ${[...actions.keys()].join(', ')})`,
      );
    }
    const ms = parseGoDuration(o.duration);
    if (ms === undefined) throw new DecisionError('duration', text, `duration "${o.duration}" is not a Go duration`);
    if (ms > maxSeconds * 1000) {
      throw new DecisionError('duration', text, `${Math.round(ms / 1000)} s is longer than the ${maxSeconds} s accepted (maxSeconds)`);
    }
    ttlMs = ms;
    try {
      guard.checkRange(range, 'the CrowdSec bouncer');
    } catch (err) {
      throw new DecisionError('range', text, (err as Error).message);
    }
  }
  const scenario = typeof o.scenario === 'string' ? o.scenario : o.type;
  const from = typeof o.origin === 'string' ? ` (${o.origin})` : '';
  return { id: o.id, range, key: range.toString(), type: o.type, action, ttlMs, reason: `${scenario}${from}`.slice(0, 256) };
}
