import { divergence, type ConfigChange } from '@dnsdist-ts/workers/workers/worker-config-log.js';

describe("a worker whose outcome of a change is not the control plane's", () => {
  const change = (source?: string): ConfigChange => ({
    id: 3,
    line: 'addAction(QNameRule("x."), RCodeAction(5))',
    failed: false,
    timeoutMs: 0,
    clientTables: [],
    ...(source ? { source } : {}),
  });

  it('names the console command, or the calls of maintenance(), and says to restart the worker', () => {
    expect(divergence(1, change(), 'boom')).toBe(
      'Data-plane worker 1 diverged from the control plane running console command "addAction(QNameRule(\\"x.\\"), RCodeAction(5))": it failed (boom) where the control plane did not; its configuration now differs, restart it (restartWorker(1))',
    );
    expect(divergence(0, change('maintenance()'), 'boom')).toMatch(
      /^Data-plane worker 0 diverged from the control plane running the calls of maintenance\(\) "addAction\(QNameRule\(\\"x\.\\"\), RCodeAction\(5\)\)": it failed \(boom\)/,
    );
    expect(divergence(0, change('maintenance()'), undefined)).toBeUndefined();
  });
});
