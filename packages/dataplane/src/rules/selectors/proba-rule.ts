import type { DNSResponse } from '../../query/dns-response.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import { RuleArgumentError } from '../rule-errors.js';
import type { DNSRule } from '../rule-types.js';

/** dnsdist's ProbaRule(probability): matches a random share of the queries (1.0: all of them). */
export class ProbaRule implements DNSRule {
  readonly probability: number;
  readonly #random: () => number;

  /**
   * @param random a source of numbers in [0, 1) (Math.random unless a test gives its own).
   * @throws RuleArgumentError unless 0 <= probability <= 1.
   */
  constructor(probability: number, random: () => number = Math.random) {
    if (!(probability >= 0 && probability <= 1)) {
      throw new RuleArgumentError(
        'ProbaRule.probability',
        probability,
        `ProbaRule: the probability must be from 0 to 1, not ${String(probability)}`,
      );
    }
    this.probability = probability;
    this.#random = random;
  }

  matches(_dq: DNSQuestion): boolean {
    return this.probability === 1 || this.#random() < this.probability;
  }

  matchesResponse(_dr: DNSResponse): boolean {
    return this.matches(_dr.question);
  }

  toString(): string {
    return `match with prob. ${this.probability.toFixed(2)}`;
  }
}
