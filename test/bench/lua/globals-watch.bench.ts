/**
 * What the control plane's once-a-second look at the Lua globals costs
 * (LuaGlobalsWatch.diff: with data-plane workers, what maintenance() or a
 * health check's Lua changed is copied to them): on the Lua state of a
 * real DnsdistApp (every binding, the constant tables) with nothing
 * changed, and with one global changed between looks. The control plane
 * shares the cores with the workers, so this is time taken from them.
 *
 *   pnpm exec tsx test/bench/lua/globals-watch.bench.ts [--rounds N]
 */
import { LuaGlobalsWatch } from '../../../packages/lua/src/lua/lua-globals-copy.js';
import { DnsdistApp } from '../../../packages/proxy/src/app/dnsdist-app.js';

const argv = process.argv.slice(2);
const ROUNDS = argv.includes('--rounds') ? Number(argv[argv.indexOf('--rounds') + 1]) : 2000;

const app = new DnsdistApp({ configFile: '/nonexistent/dnsdist.conf', output: () => {} });
const rt = app.runtime;
rt.runString('counter = 0 settings = { threshold = 10, names = { "a.example.", "b.example." } }');
const watch = new LuaGlobalsWatch(rt.L);

function measure(label: string, between: () => void): void {
  for (let i = 0; i < 200; i++) {
    between();
    watch.diff();
  }
  let changed = 0;
  const start = performance.now();
  for (let i = 0; i < ROUNDS; i++) {
    between();
    changed += watch.diff().changed.length;
  }
  const us = ((performance.now() - start) * 1000) / ROUNDS;
  console.log(`${label.padEnd(26)} ${us.toFixed(1).padStart(8)} µs per look (${changed / ROUNDS} changed)`);
}

rt.runString('n = 0 for _ in pairs(_G) do n = n + 1 end');
const globals = Number(rt.runString('return n')[0]);
console.log(`# ${globals} globals, ${ROUNDS} looks`);
// Once a second, the look never gets optimized: what the first ones cost is what the control plane pays.
const cold: string[] = [];
for (let i = 0; i < 5; i++) {
  const start = performance.now();
  watch.diff();
  cold.push(((performance.now() - start) * 1000).toFixed(0));
}
console.log(`${'first five looks'.padEnd(26)} ${cold.join(', ')} µs`);
measure('nothing changed', () => {});
measure('one global changed', () => rt.runString('counter = counter + 1'));
app.runtime.close();
