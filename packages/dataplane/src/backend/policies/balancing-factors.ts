import type { DownstreamServer } from '../downstream-server.js';

/** A balancing factor dnsdist refuses: below 1 (NaN included) and not 0. */
export class BalancingFactorError extends Error {
  /** The function that was given the value (setWeightedBalancingFactor, setConsistentHashingBalancingFactor). */
  readonly setting: string;
  readonly value: number;
  constructor(setting: string, value: number) {
    // dnsdist's own text first, so logs grepped for it still match; then what is accepted.
    super(`Invalid value passed to ${setting}()! The factor must be at least 1.0, or 0 for no bound; got ${value}`);
    this.name = 'BalancingFactorError';
    this.setting = setting;
    this.value = value;
  }
}

function checked(setting: string, value: number): number {
  // Below 1 the bounds of all servers could add up to less than the load, leaving
  // no server at all; dnsdist refuses those values (NaN too). dnsdist 1.7 refused 0
  // as well, so a factor once set could not be turned off; later releases accept it
  // (PowerDNS/pdns#14929), and so do we.
  if (value === 0 || value >= 1) return value;
  throw new BalancingFactorError(setting, value);
}

/**
 * dnsdist's "bounded load" settings, shared by every pool: with a factor
 * f > 0 the weighted policies (wrandom, whashed) resp. chashed skip a server
 * whose outstanding queries exceed f × (outstanding on all up servers + 1)
 * × its weight / the up servers' total weight. 0, the default, is no bound.
 */
export class BalancingFactors {
  #weighted = 0;
  #consistentHashing = 0;

  /** setWeightedBalancingFactor: wrandom and whashed. */
  get weighted(): number {
    return this.#weighted;
  }
  set weighted(value: number) {
    this.#weighted = checked('setWeightedBalancingFactor', value);
  }

  /** setConsistentHashingBalancingFactor: chashed. */
  get consistentHashing(): number {
    return this.#consistentHashing;
  }
  set consistentHashing(value: number) {
    this.#consistentHashing = checked('setConsistentHashingBalancingFactor', value);
  }
}

/**
 * The outstanding queries a server of weight 1 may have under `factor`
 * (multiply by the weight for others), or Infinity when there is no bound.
 * As in dnsdist: a double, no rounding; the "+ 1" counts the query being
 * placed, so an idle pool leaves every server eligible.
 */
export function loadPerWeight(servers: readonly DownstreamServer[], factor: number): number {
  if (factor === 0) return Infinity;
  let load = 1;
  let totalWeight = 0;
  for (const s of servers) {
    if (!s.isUp()) continue;
    load += s.outstanding;
    totalWeight += s.config.weight;
  }
  return totalWeight > 0 ? (load / totalWeight) * factor : Infinity;
}

/** Up and, when a bound is set, not over it. */
export function withinBound(s: DownstreamServer, perWeight: number): boolean {
  return s.isUp() && (perWeight === Infinity || s.outstanding <= perWeight * s.config.weight);
}
