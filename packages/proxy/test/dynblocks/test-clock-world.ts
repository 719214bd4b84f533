/**
 * A dynamic-block world for unit tests: real Rings, DynamicBlocks and
 * the per-query check, fed with real parsed queries and answers at times
 * the test chooses (an injected clock: nothing reads the wall clock).
 */
import { Rings } from '@dnsdist-ts/dataplane/rings/index.js';
import { DynamicBlocks } from '@dnsdist-ts/dynblocks/dynblocks/dynamic-blocks.js';
import { DynBlockQueryCheck } from '@dnsdist-ts/dynblocks/dynblocks/dyn-block-query-check.js';
import { DynBlockRulesGroup } from '@dnsdist-ts/dynblocks/dynblocks/dyn-block-rules-group.js';
import { Logger } from '@dnsdist-ts/dataplane/server/logger.js';
import { ProxyCounters } from '@dnsdist-ts/dataplane/stats/proxy-counters.js';
import type { Transport } from '@dnsdist-ts/dataplane/query/dns-question.js';
import { makeQuery, makeResponse } from '../rings/ring-fixtures.js';

export interface TrafficShape {
  client?: string;
  port?: number;
  name?: string;
  type?: string;
  transport?: Transport;
}

export class TestWorld {
  readonly rings: Rings;
  readonly counters = new ProxyCounters();
  readonly log = new Logger();
  readonly lines: string[] = [];
  readonly blocks: DynamicBlocks;
  readonly check: DynBlockQueryCheck;

  constructor(ringSize = 10_000, shards = 1) {
    this.rings = new Rings(ringSize, shards);
    this.log.sink = (level, line) => this.lines.push(`${level}: ${line}`);
    this.blocks = new DynamicBlocks(this.counters, this.log, 0);
    this.check = new DynBlockQueryCheck(this.blocks, this.counters, this.log);
  }

  group(): DynBlockRulesGroup {
    return new DynBlockRulesGroup(this.blocks, this.rings);
  }

  /** Record `count` queries spread evenly over [from, to) ms. */
  queries(count: number, from: number, to: number, shape: TrafficShape = {}): void {
    for (let i = 0; i < count; i++) this.rings.recordQuery(makeQuery({ ...shape, at: from + ((to - from) * i) / count }));
  }

  /** Record `count` answers (RCODE, extra size) spread evenly over [from, to) ms. */
  responses(
    count: number,
    from: number,
    to: number,
    shape: TrafficShape & { rcode?: number; padding?: number; timeout?: boolean } = {},
  ): void {
    for (let i = 0; i < count; i++) {
      const at = from + ((to - from) * i) / count;
      const dq = makeQuery({ ...shape, at });
      if (shape.timeout) this.rings.recordTimeout(dq, undefined, at);
      else this.rings.recordResponse(makeResponse(dq, { rcode: shape.rcode ?? 0, padding: shape.padding ?? 0 }), at);
    }
  }

  /** Lines logged at warning level. */
  warnings(): string[] {
    return this.lines.filter((l) => l.startsWith('warning: ')).map((l) => l.slice('warning: '.length));
  }

  /** The client blocks by key text: "reason|action|warning". */
  clientTable(now: number): Record<string, string> {
    const out: Record<string, string> = {};
    for (const b of this.blocks.activeClientBlocks(now)) out[b.keyText()] = `${b.reason}|${b.action}|${b.warning}`;
    return out;
  }
}
