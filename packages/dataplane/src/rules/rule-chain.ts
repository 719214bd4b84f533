/**
 * An ordered list of rules (selector + action), as dnsdist keeps one per
 * chain (queries, responses, cache hits, self-answered responses), with
 * the console's operations on it: add, setRules, clear, rm, top, mv and
 * the showRules() table.
 *
 * Every change installs a new array rather than editing the current one,
 * so a walk in progress (an action that edits the chain, say) keeps
 * iterating the list it started with, as dnsdist's copy-on-write state does.
 */
import { CellSet } from '../stats/counter-cells.js';
import { RuleChainError } from './rule-errors.js';
import { makeRuleUuid, parseRuleUuid } from './rule-uuid.js';

/** Anything that describes itself for showRules(). */
interface Describable {
  toString(): string;
}

/** One rule of a chain: dnsdist's DNSDistRuleAction. */
export interface RuleEntry<S extends Describable, A extends Describable> {
  readonly selector: S;
  readonly action: A;
  /** Name given with `{name=…}`, "" otherwise; the `id` label of dnsdist_rule_hits when set. */
  readonly name: string;
  /** Canonical lower-case UUID, given with `{uuid=…}` or random. */
  readonly uuid: string;
  /** Creation sequence number, shared by all chains of the process (dnsdist's "Cr. Order"). */
  readonly creationOrder: number;
  /** Queries (or responses) the selector matched, counted before the action runs. */
  hits: number;
}

/** The optional table of addAction(…, {name=, uuid=}). */
export interface RuleOptions {
  name?: string;
  uuid?: string;
}

/** Options of showRules(). */
export interface ShowRulesOptions {
  /** Add the UUID and creation-order columns. */
  showUUIDs?: boolean;
  /** Cut rule descriptions to this many characters; negative (the default) keeps them whole. */
  truncateRuleWidth?: number;
}

let creationCounter = 0;

/** A rule's match count lives in a cell, so that with workers every thread reads the total at once (workers/live-counters.ts). */
const RULE_CELLS = new CellSet({ hits: 'counter' });

/** The entries newRuleEntry makes: one class, so `rule.hits++` stays a field-speed store. */
class CountedRuleEntry<S extends Describable, A extends Describable> implements RuleEntry<S, A> {
  readonly selector: S;
  readonly action: A;
  readonly name: string;
  readonly uuid: string;
  readonly creationOrder: number;
  declare hits: number;

  constructor(selector: S, action: A, name: string, uuid: string, creationOrder: number) {
    this.selector = selector;
    this.action = action;
    this.name = name;
    this.uuid = uuid;
    this.creationOrder = creationOrder;
    RULE_CELLS.install(this);
  }
}

/**
 * A rule not yet in any chain (dnsdist's newRuleAction), for `setRules`.
 *
 * @throws InvalidRuleUuidError when `options.uuid` is not a UUID.
 */
export function newRuleEntry<S extends Describable, A extends Describable>(
  selector: S,
  action: A,
  options: RuleOptions = {},
): RuleEntry<S, A> {
  return new CountedRuleEntry(selector, action, options.name ?? '', makeRuleUuid(options.uuid), creationCounter++);
}

/** Left-align in `width` characters, never cutting (boost::format's %-Ns). */
function left(text: string, width: number): string {
  return text.padEnd(width, ' ');
}

/** Right-align in `width` characters, never cutting (boost::format's %Nd). */
function right(text: string, width: number): string {
  return text.padStart(width, ' ');
}

export class RuleChain<S extends Describable, A extends Describable> {
  #rules: readonly RuleEntry<S, A>[] = [];

  /** The rules in evaluation order. The array is never modified: changes install a new one. */
  get rules(): readonly RuleEntry<S, A>[] {
    return this.#rules;
  }

  get size(): number {
    return this.#rules.length;
  }

  /**
   * Append a rule (addAction / addResponseAction).
   *
   * @throws InvalidRuleUuidError when `options.uuid` is not a UUID.
   */
  add(selector: S, action: A, options?: RuleOptions): RuleEntry<S, A> {
    const entry = newRuleEntry(selector, action, options);
    this.#rules = [...this.#rules, entry];
    return entry;
  }

  /** Replace every rule at once (setRules), keeping the entries' names, UUIDs and counters. */
  setRules(entries: Iterable<RuleEntry<S, A>>): void {
    this.#rules = [...entries];
  }

  /** Remove every rule (clearRules). */
  clear(): void {
    this.#rules = [];
  }

  /**
   * Remove rules (rmRule): the one at a 0-based index, or those with a
   * UUID (when the text reads as one) or else a name.
   *
   * @throws RuleChainError with dnsdist's console text when nothing matches.
   */
  remove(id: number | string): void {
    const rules = this.#rules;
    if (typeof id === 'number') {
      if (!Number.isInteger(id) || id < 0 || id >= rules.length) {
        throw new RuleChainError(
          id,
          'Error: attempt to delete non-existing rule',
          `there is no rule ${id} to delete: the chain has ${rules.length} rule(s), numbered from 0 (see showRules())`,
        );
      }
      this.#rules = rules.filter((_, i) => i !== id);
      return;
    }
    const uuid = parseRuleUuid(id);
    const kept = rules.filter((r) => (uuid !== undefined ? r.uuid !== uuid : r.name !== id));
    if (kept.length === rules.length) {
      throw new RuleChainError(
        id,
        'Error: no rule matched',
        `no rule has the ${uuid !== undefined ? 'UUID' : 'name'} "${id}": check showRules({showUUIDs=true})`,
      );
    }
    this.#rules = kept;
  }

  /** Move the last rule to the top (topRule); nothing happens on an empty chain. */
  moveLastToTop(): void {
    const rules = this.#rules;
    if (rules.length === 0) return;
    this.#rules = [rules[rules.length - 1]!, ...rules.slice(0, -1)];
  }

  /**
   * Move the rule at `from` to position `to` (mvRule), with dnsdist's exact
   * index arithmetic: the rule is taken out first; if `to` then equals the
   * number of remaining rules it goes last, otherwise it is inserted at
   * `to`, or at `to - 1` when it came from before `to`.
   *
   * @throws RuleChainError with dnsdist's console text when `from` is not a rule or `to` is past the end.
   */
  move(from: number, to: number): void {
    const rules = this.#rules;
    if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to < 0 || from >= rules.length || to > rules.length) {
      throw new RuleChainError(
        [from, to],
        'Error: attempt to move rules from/to invalid index',
        `cannot move rule ${from} to ${to}: the chain has ${rules.length} rule(s); give a source from 0 to ${rules.length - 1} and a destination from 0 to ${rules.length}`,
      );
    }
    const next = [...rules];
    const [subject] = next.splice(from, 1);
    if (to === next.length) next.push(subject!);
    else next.splice(from < to ? to - 1 : to, 0, subject!);
    this.#rules = next;
  }

  /** The rule at a 0-based index, or the first with this UUID (text that reads as one) or name. */
  get(id: number | string): RuleEntry<S, A> | undefined {
    if (typeof id === 'number') return this.#rules[id];
    const uuid = parseRuleUuid(id);
    return this.#rules.find((r) => (uuid !== undefined ? r.uuid === uuid : r.name === id));
  }

  /** The showRules() table, as dnsdist 1.7 prints it (a header line, then one line per rule, each ending in "\n"). */
  show(options: ShowRulesOptions = {}): string {
    const width = options.truncateRuleWidth ?? -1;
    const describe = (selector: S): string => {
      const text = selector.toString();
      return width >= 0 ? text.slice(0, width) : text;
    };
    let out = '';
    if (options.showUUIDs) {
      out += `${left('#', 3)} ${left('Name', 30)} ${left('UUID', 38)} ${right('Cr. Order', 9)} ${right('Matches', 9)} ${left('Rule', 56)} Action\n`;
      this.#rules.forEach((r, i) => {
        out += `${left(String(i), 3)} ${left(r.name, 30)} ${left(r.uuid, 38)} ${right(String(r.creationOrder), 9)} ${right(String(r.hits), 9)} ${left(describe(r.selector), 56)} ${r.action.toString()}\n`;
      });
    } else {
      out += `${left('#', 3)} ${left('Name', 30)} ${right('Matches', 9)} ${left('Rule', 56)} Action\n`;
      this.#rules.forEach((r, i) => {
        out += `${left(String(i), 3)} ${left(r.name, 30)} ${right(String(r.hits), 9)} ${left(describe(r.selector), 56)} ${r.action.toString()}\n`;
      });
    }
    return out;
  }
}
