import { DNSName, NetmaskGroup, qtypeName, SuffixMatchNode } from '@dnsdist-ts/dns';
import { DNSAction } from '@dnsdist-ts/dataplane/query/dns-action.js';
import {
  cutOffFor,
  EXACT_CLIENT_MASKS,
  rcodeText,
  type ClientCounts,
  type ClientMasks,
  type ClientRange,
  type QueryCounter,
  type ResponseCounter,
  type ResponseEntry,
} from '@dnsdist-ts/dataplane/rings/index.js';
import { ClientBlockRange, checkBlockMasks } from './client-block-range.js';
import { compareCanonicalOrder, sortNetmaskTexts } from './dnsdist-tree-order.js';
import type { DynBlockSpec } from './dyn-block.js';
import {
  DynBlockRateRule,
  DynBlockRatioRule,
  DynBlockSuffixRule,
  type DynBlockRuleBase,
  type SuffixVisitorVerdict,
} from './dyn-block-rule.js';
import type { DynamicBlocks } from './dynamic-blocks.js';
import { responseStatTree } from './response-stat-tree.js';

/** The per-client walks of the rings a rules group needs (Rings has them). */
export interface ClientCountingRings {
  countQueriesByClient(now: number, masks: ClientMasks, counters: readonly QueryCounter[]): ClientCounts;
  countResponsesByClient(now: number, masks: ClientMasks, counters: readonly ResponseCounter[]): ClientCounts;
  /** Visit every response entry (the suffix-match rule builds its name tree from them). */
  forEachResponse(visit: (entry: ResponseEntry) => void): void;
}

/** What setNewBlockInsertedHook's function is told (dnsdist 1.9's arguments). */
export interface NewBlockInfo {
  /** 0 for a client block, 1 for a suffix block. */
  readonly type: 0 | 1;
  /** "192.0.2.1/32" or "bad.example.". */
  readonly key: string;
  readonly reason: string;
  /** The rule's DNSAction (None when it uses the default). */
  readonly action: number;
  readonly seconds: number;
  readonly warning: boolean;
}

/** Options of {@link DynBlockRulesGroup.apply}. */
export interface ApplyOptions {
  /** Only the query rules (rate, qtype): what fast detection runs between maintenance passes. */
  readonly queriesOnly?: boolean;
}

/** A rule and the index of its counter in this pass's walk. */
interface Counted<R> {
  readonly rule: R;
  readonly index: number;
}

function byRateDescending(a: DynBlockRateRule, b: DynBlockRateRule): number {
  return b.rate - a.rate;
}

/**
 * Rules of one kind hold several rules (dnsdist issue #6907): a rule
 * replaces an earlier one with the same action and window, otherwise it
 * is added. With one rule per kind this is dnsdist's "the last call wins".
 */
function upsert<R extends DynBlockRuleBase>(list: R[], rule: R): R[] {
  const i = list.findIndex((r) => r.action === rule.action && r.seconds === rule.seconds);
  if (i >= 0) list[i] = rule;
  else list.push(rule);
  return list;
}

/**
 * dnsdist's DynBlockRulesGroup: rate, ratio, qtype and suffix-match rules
 * evaluated together in one walk of each ring per apply(), normally from
 * maintenance().
 *
 * For each client range that a walk counted, in dnsdist's order: query
 * rate (a block moves on to the next client), response byte rate (same),
 * qtype rates, RCODE rates, RCODE ratios. Every rule checks its warning
 * rate before its blocking rate, so a client over both gets a warning and
 * then the real block that replaces it. Several rules of one kind are
 * tried from the highest rate down; the first one exceeded blocks.
 * Clients are counted per setMasks range; excluded ranges never get a
 * block (and, with masks, do not count toward their range).
 */
export class DynBlockRulesGroup {
  readonly #blocks: DynamicBlocks;
  readonly #rings: ClientCountingRings;
  #queryRate: DynBlockRateRule[] = [];
  #responseByteRate: DynBlockRateRule[] = [];
  readonly #rcodeRates = new Map<number, DynBlockRateRule[]>();
  readonly #rcodeRatios = new Map<number, DynBlockRatioRule[]>();
  readonly #qtypeRates = new Map<number, DynBlockRateRule[]>();
  #suffixRule: DynBlockSuffixRule | undefined;
  #masks: ClientMasks = EXACT_CLIENT_MASKS;
  /** setQuiet: no "Inserting …" log lines. */
  quiet = false;
  /** excludeRange / includeRange: an entry matching means "never block" (negated entries cut holes). */
  readonly excludedRanges = new NetmaskGroup();
  /** excludeDomains: names never blocked by the suffix-match rule. */
  readonly excludedDomains = new SuffixMatchNode();
  /** setNewBlockInsertedHook: told about every block inserted or refreshed. */
  newBlockHook: ((info: NewBlockInfo) => void) | undefined = undefined;
  /** Whether apply() ran at least once: fast detection only re-applies groups the configuration uses. */
  appliedOnce = false;
  /** Called when the rules change (fast detection recomputes its trigger). */
  onRulesChanged: (() => void) | undefined = undefined;

  constructor(blocks: DynamicBlocks, rings: ClientCountingRings) {
    this.#blocks = blocks;
    this.#rings = rings;
  }

  setQueryRate(rule: DynBlockRateRule): void {
    upsert(this.#queryRate, rule).sort(byRateDescending);
    this.onRulesChanged?.();
  }

  /** Rate in bytes per second of answers sent to the client. */
  setResponseByteRate(rule: DynBlockRateRule): void {
    upsert(this.#responseByteRate, rule).sort(byRateDescending);
  }

  setRCodeRate(rcode: number, rule: DynBlockRateRule): void {
    this.#rcodeRates.set(rcode, upsert(this.#rcodeRates.get(rcode) ?? [], rule).sort(byRateDescending));
  }

  setRCodeRatio(rcode: number, rule: DynBlockRatioRule): void {
    this.#rcodeRatios.set(
      rcode,
      upsert(this.#rcodeRatios.get(rcode) ?? [], rule).sort((a, b) => b.ratio - a.ratio),
    );
  }

  setQTypeRate(qtype: number, rule: DynBlockRateRule): void {
    this.#qtypeRates.set(qtype, upsert(this.#qtypeRates.get(qtype) ?? [], rule).sort(byRateDescending));
    this.onRulesChanged?.();
  }

  /** The one suffix-match rule (a new one replaces it). */
  setSuffixMatchRule(rule: DynBlockSuffixRule): void {
    this.#suffixRule = rule;
  }

  /**
   * setMasks(v4, v6, port): count and block clients per range.
   *
   * @throws DynBlockArgumentError with dnsdist's messages on invalid masks.
   */
  setMasks(v4: number, v6: number, port: number): void {
    checkBlockMasks(v4, v6, port);
    this.#masks = Object.freeze({ v4, v6, port });
    this.onRulesChanged?.();
  }

  get masks(): ClientMasks {
    return this.#masks;
  }

  /** excludeRange: never block these (a NetmaskGroup's entries all become exclusions). */
  excludeRange(ranges: readonly string[] | NetmaskGroup): void {
    for (const m of ranges instanceof NetmaskGroup ? ranges.toStrings().map((t) => t.replace(/^!/, '')) : ranges) {
      this.excludedRanges.addMask(m);
    }
  }

  /** includeRange: cut a hole in the exclusions (a negated entry). */
  includeRange(ranges: readonly string[] | NetmaskGroup): void {
    for (const m of ranges instanceof NetmaskGroup ? ranges.toStrings().map((t) => t.replace(/^!/, '')) : ranges) {
      this.excludedRanges.addMask(m.replace(/^!/, ''), true);
    }
  }

  /** removeRange: forget an exclusion or inclusion given before (dnsdist 1.8.3+). */
  removeRange(ranges: readonly string[] | NetmaskGroup): void {
    for (const m of ranges instanceof NetmaskGroup ? ranges.toStrings() : ranges) this.excludedRanges.deleteMask(m);
  }

  excludeDomains(names: readonly (string | DNSName)[]): void {
    for (const n of names) this.excludedDomains.add(n);
  }

  /** The lowest blocking rate of the query rules (per second), for fast detection; undefined without query rules. */
  lowestQueryRate(): number | undefined {
    const rates = [...this.#queryRate, ...[...this.#qtypeRates.values()].flat()].map((r) => r.rate);
    return rates.length > 0 ? Math.min(...rates) : undefined;
  }

  get hasQueryRules(): boolean {
    return this.#queryRate.length > 0 || this.#qtypeRates.size > 0;
  }

  get hasResponseRules(): boolean {
    return this.#responseByteRate.length > 0 || this.#rcodeRates.size > 0 || this.#rcodeRatios.size > 0;
  }

  /**
   * One pass: walk the rings, then insert or refresh the blocks the rules
   * call for. `now` is a performance.now() time.
   */
  apply(now: number = performance.now(), options: ApplyOptions = {}): void {
    if (!this.appliedOnce) {
      this.appliedOnce = true;
      this.onRulesChanged?.();
    }
    const masks = this.#masks;
    // With ranges, an excluded client must not push its range over a threshold (dnsdist fixed this in 2026, PR #16881).
    const exclusionFilter =
      this.excludedRanges.size() > 0 && (masks.v4 < 32 || masks.v6 < 128 || masks.port > 0)
        ? (entry: { readonly client: { readonly bytes: Uint8Array } | null }) =>
            !entry.client || !this.excludedRanges.match(entry.client.bytes)
        : undefined;

    // ---- query walk: one counter per query-rate rule and per qtype rule
    const qCounters: QueryCounter[] = [];
    const queryRate: Counted<DynBlockRateRule>[] = this.#queryRate.map((rule) => ({
      rule,
      index: qCounters.push(this.#queryCounter(now, rule.seconds, undefined, exclusionFilter)) - 1,
    }));
    const qtypes: Array<{ code: number; rules: Counted<DynBlockRateRule>[] }> = [...this.#qtypeRates.keys()]
      .sort((a, b) => a - b)
      .map((code) => ({
        code,
        rules: this.#qtypeRates
          .get(code)!
          .map((rule) => ({ rule, index: qCounters.push(this.#queryCounter(now, rule.seconds, code, exclusionFilter)) - 1 })),
      }));
    const q = qCounters.length > 0 ? this.#rings.countQueriesByClient(now, masks, qCounters) : undefined;

    // ---- response walk: byte rates, rcode rates and ratios, the ratios' total
    let r: ClientCounts | undefined;
    let responseRate: Counted<DynBlockRateRule>[] = [];
    let rcodes: Array<{ code: number; rules: Counted<DynBlockRateRule>[] }> = [];
    let ratios: Array<{ code: number; rules: Counted<DynBlockRatioRule>[] }> = [];
    let totalIndex = -1;
    if (!options.queriesOnly && this.hasResponseRules) {
      const rCounters: ResponseCounter[] = [];
      const counter = (seconds: number, extra: Partial<ResponseCounter>): number =>
        rCounters.push({ cutOff: cutOffFor(now, seconds), ...extra, ...(exclusionFilter ? { filter: exclusionFilter } : {}) }) - 1;
      responseRate = this.#responseByteRate.map((rule) => ({ rule, index: counter(rule.seconds, { measure: 'bytes' }) }));
      rcodes = [...this.#rcodeRates.keys()]
        .sort((a, b) => a - b)
        .map((code) => ({
          code,
          rules: this.#rcodeRates.get(code)!.map((rule) => ({ rule, index: counter(rule.seconds, { rcode: code }) })),
        }));
      ratios = [...this.#rcodeRatios.keys()]
        .sort((a, b) => a - b)
        .map((code) => ({
          code,
          rules: this.#rcodeRatios.get(code)!.map((rule) => ({ rule, index: counter(rule.seconds, { rcode: code }) })),
        }));
      if (ratios.length > 0) {
        // A ratio's denominator: every answer over the widest window of the group's response rules.
        const windows = [
          ...this.#responseByteRate,
          ...[...this.#rcodeRates.values()].flat(),
          ...[...this.#rcodeRatios.values()].flat(),
        ].map((x) => x.seconds);
        if (this.#suffixRule) windows.push(this.#suffixRule.seconds);
        totalIndex = counter(windows.includes(0) ? 0 : Math.max(...windows), {});
      }
      r = this.#rings.countResponsesByClient(now, masks, rCounters);
    }

    const ranges = new Map<number | string, { q?: ClientRange; r?: ClientRange }>();
    if (q) for (const [k, range] of q.clients) ranges.set(k, { q: range });
    if (r) {
      for (const [k, range] of r.clients) {
        const seen = ranges.get(k);
        if (seen) seen.r = range;
        else ranges.set(k, { r: range });
      }
    }

    for (const { q: qr, r: rr } of ranges.values()) {
      const range = (qr ?? rr)!;
      const qc = qr?.counts;
      const rc = rr?.counts;
      if (qc && this.#rates(range, queryRate, qc, q!.oldest, now)) continue;
      if (rc && this.#rates(range, responseRate, rc, r!.oldest, now)) continue;
      if (qc) {
        for (const { rules } of qtypes) if (this.#rates(range, rules, qc, q!.oldest, now)) break;
      }
      if (rc) {
        for (const { rules } of rcodes) if (this.#rates(range, rules, rc, r!.oldest, now)) break;
        const total = totalIndex >= 0 ? rc[totalIndex]! : 0;
        for (const { rules } of ratios) if (this.#ratios(range, rules, rc, total, now)) break;
      }
    }

    if (!options.queriesOnly && this.#suffixRule) this.#applySuffixRule(this.#suffixRule, now);
  }

  #queryCounter(now: number, seconds: number, qtype: number | undefined, filter: QueryCounter['filter']): QueryCounter {
    return { cutOff: cutOffFor(now, seconds), ...(qtype !== undefined ? { qtype } : {}), ...(filter ? { filter } : {}) };
  }

  /** Warning then block for each rule, highest rate first; true when one blocked. */
  #rates(
    range: ClientRange,
    rules: readonly Counted<DynBlockRateRule>[],
    counts: Float64Array,
    oldest: Float64Array,
    now: number,
  ): boolean {
    for (const { rule, index } of rules) {
      const count = counts[index]!;
      if (count === 0) continue;
      if (rule.warningExceeded(count, oldest[index]!, now)) this.#insertClient(range, rule, true, now);
      if (rule.exceeded(count, oldest[index]!, now)) {
        this.#insertClient(range, rule, false, now);
        return true;
      }
    }
    return false;
  }

  #ratios(range: ClientRange, rules: readonly Counted<DynBlockRatioRule>[], counts: Float64Array, total: number, now: number): boolean {
    for (const { rule, index } of rules) {
      const count = counts[index]!;
      if (count === 0) continue;
      if (rule.warningExceeded(total, count)) this.#insertClient(range, rule, true, now);
      if (rule.exceeded(total, count)) {
        this.#insertClient(range, rule, false, now);
        return true;
      }
    }
    return false;
  }

  #insertClient(range: ClientRange, rule: DynBlockRuleBase, warning: boolean, now: number): void {
    // Exclusions look at the address only, never the port (as dnsdist).
    if (this.excludedRanges.size() > 0 && this.excludedRanges.match(range.network)) return;
    const target = ClientBlockRange.fromClientRange(range);
    const spec: DynBlockSpec = {
      reason: rule.reason,
      action: warning ? DNSAction.NoOp : rule.action,
      until: now + rule.blockSeconds * 1000,
      warning,
      tag: warning ? undefined : rule.tag,
    };
    const updated = this.#blocks.addOrRefreshClientBlock(target, spec, {
      now,
      seconds: rule.blockSeconds,
      quiet: this.quiet,
      kernelEligible: true,
      source: 'rules',
    });
    if (updated) this.#notify(0, target.toString(), rule, warning);
  }

  #applySuffixRule(rule: DynBlockSuffixRule, now: number): void {
    const root = responseStatTree(this.#rings, now, cutOffFor(now, rule.seconds));
    if (root.empty) return;
    const toBlock = new Map<string, { fullname: string; verdict: SuffixVisitorVerdict }>();
    root.visit((node, self, children) => {
      const verdict = rule.visitor(node, self, children);
      if (verdict.block) toBlock.set(node.fullname.toLowerCase(), { fullname: node.fullname, verdict });
    });
    for (const { fullname, verdict } of toBlock.values()) {
      const name = fullname === '' ? DNSName.ROOT : DNSName.fromString(fullname);
      if (this.excludedDomains.check(name)) continue;
      const action = verdict.action ?? rule.action;
      const spec: DynBlockSpec = {
        reason: verdict.reason ?? rule.reason,
        action,
        until: now + rule.blockSeconds * 1000,
        warning: false,
        tag: action === DNSAction.SetTag ? rule.tag : undefined,
      };
      const updated = this.#blocks.addOrRefreshSuffixBlock(name, spec, {
        now,
        seconds: rule.blockSeconds,
        quiet: this.quiet,
        kernelEligible: true,
        source: 'rules',
      });
      if (updated) this.#notify(1, name.toLowerCase().toString(), { ...rule, reason: spec.reason, action }, false);
    }
  }

  #notify(type: 0 | 1, key: string, rule: DynBlockRuleBase, warning: boolean): void {
    this.newBlockHook?.({ type, key, reason: rule.reason, action: rule.action, seconds: rule.blockSeconds, warning });
  }

  /** dnsdist's text (1.7.3 layout), one line per rule when a kind has several. */
  toString(): string {
    const lines: string[] = [];
    const ruleLines = (title: string, rules: readonly { toString(): string }[]): void => {
      if (rules.length === 0) lines.push(`${title}: `);
      for (const rule of rules) lines.push(`${title}: ${rule.toString()}`);
    };
    ruleLines('Query rate rule', this.#queryRate);
    ruleLines('Response rate rule', this.#responseByteRate);
    ruleLines('SuffixMatch rule', this.#suffixRule ? [this.#suffixRule] : []);
    lines.push('RCode rules: ');
    for (const code of [...this.#rcodeRates.keys()].sort((a, b) => a - b)) {
      for (const rule of this.#rcodeRates.get(code)!) lines.push(`- ${rcodeText(code)}: ${rule.toString()}`);
    }
    for (const code of [...this.#rcodeRatios.keys()].sort((a, b) => a - b)) {
      for (const rule of this.#rcodeRatios.get(code)!) lines.push(`- ${rcodeText(code)}: ${rule.toString()}`);
    }
    lines.push('QType rules: ');
    for (const code of [...this.#qtypeRates.keys()].sort((a, b) => a - b)) {
      for (const rule of this.#qtypeRates.get(code)!) lines.push(`- ${qtypeName(code)}: ${rule.toString()}`);
    }
    lines.push(`Excluded Subnets: ${sortNetmaskTexts(this.excludedRanges.toStrings()).join(', ')}`);
    const domains = this.excludedDomains.toStrings().map((t) => DNSName.fromString(t));
    lines.push(
      `Excluded Domains: ${domains
        .sort(compareCanonicalOrder)
        .map((n) => n.toString())
        .join(', ')}`,
    );
    return `${lines.join('\n')}\n`;
  }
}
