/**
 * Data-plane workers from Lua (dnsdist-ts's own): setWorkers(n) in the
 * configuration, showWorkers() and restartWorker(n) at the console.
 */
import type { LuaEnvironment } from './lua-environment.js';
import type { WorkerControl } from './worker-control.js';
import { checkWorkerCount } from './worker-settings.js';

export function registerWorkerBindings(env: LuaEnvironment, control: WorkerControl): void {
  const rt = env.runtime;
  rt.registerFunction('setWorkers', (a) => {
    if (!env.configOnly('setWorkers')) return;
    try {
      control.settings.fromConfiguration = checkWorkerCount('setWorkers', a.values[0]);
    } catch (err) {
      env.fail((err as Error).message);
    }
  });
  rt.registerFunction('showWorkers', () => {
    const status = control.status();
    if (!status) {
      rt.print('One event loop answers every query (no data-plane workers: setWorkers(n) or --workers n)');
      return;
    }
    rt.print(`${'#'.padEnd(4)}${'Thread'.padEnd(8)}${'State'.padEnd(12)}${'Restarts'.padStart(9)}${'Queries'.padStart(14)}`);
    for (const w of status) {
      rt.print(
        `${String(w.index).padEnd(4)}${String(w.threadId).padEnd(8)}${w.state.padEnd(12)}${String(w.restarts).padStart(9)}${String(w.queries).padStart(14)}`,
      );
    }
  });
  rt.registerFunction('restartWorker', (a) => {
    const status = control.status();
    const n = a.integer(0);
    if (!status) env.fail('restartWorker: there are no data-plane workers (setWorkers(n) or --workers n)');
    if (n < 0 || n >= status.length) env.fail(`restartWorker: no worker ${n} (0 to ${status.length - 1})`);
    void control.restart(n);
  });
}
