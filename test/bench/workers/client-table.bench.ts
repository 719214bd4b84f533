/**
 * What MaxQPSIPRule's shared per-client table (data-plane workers,
 * packages/workers/src/workers/shared-client-buckets.ts) costs per query
 * against the rule's own per-thread buckets: matches() on 4,096 clients in
 * turn, one thread, the rate high enough that every query passes.
 *
 *   pnpm exec tsx test/bench/workers/client-table.bench.ts [--queries N]
 */
import { makeQuery } from '../../../packages/proxy/test/rules/query-fixture.js';
import { MaxQPSIPRule } from '../../../packages/dataplane/src/rules/index.js';
import { ClientTableHook, SharedClientTable } from '../../../packages/workers/src/workers/shared-client-buckets.js';

const argv = process.argv.slice(2);
const N = argv.includes('--queries') ? Number(argv[argv.indexOf('--queries') + 1]) : 2_000_000;
const queries = Array.from({ length: 4096 }, (_, i) => makeQuery({ remote: `10.${(i >> 8) & 255}.${i & 255}.7` }));

function measure(label: string, rule: MaxQPSIPRule): void {
  for (let i = 0; i < 200_000; i++) rule.matches(queries[i & 4095]!);
  const start = performance.now();
  let over = 0;
  for (let i = 0; i < N; i++) if (rule.matches(queries[i & 4095]!)) over++;
  const ns = ((performance.now() - start) * 1e6) / N;
  console.log(`${label.padEnd(28)} ${ns.toFixed(0).padStart(6)} ns/query  (${over} over the limit)`);
}

measure('own buckets (one worker)', new MaxQPSIPRule(1_000_000));
const hook = new ClientTableHook();
hook.begin([SharedClientTable.allocate()]);
const shared = new MaxQPSIPRule(1_000_000);
hook.begin();
measure('shared table (N workers)', shared);
