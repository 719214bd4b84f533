import { DohTuningError, type DohClientTuning } from '@dnsdist-ts/dataplane/backend/doh-client-tuning.js';
import type { LuaEnvironment } from './lua-environment.js';

/**
 * dnsdist 1.7's tuning of outgoing DoH connections (backends with dohPath):
 * setMaxIdleDoHConnectionsPerDownstream, setDoHDownstreamMaxIdleTime,
 * setDoHDownstreamCleanupInterval and setOutgoingDoHWorkerThreads.
 */
export function registerDohClientBindings(env: LuaEnvironment, tuning: DohClientTuning): void {
  const rt = env.runtime;
  const inRange = (fn: string, n: number, min: number, max: number, wanted: string): number => {
    if (n < min || n > max) throw new DohTuningError(fn, n, wanted);
    return n;
  };
  rt.registerFunction('setMaxIdleDoHConnectionsPerDownstream', (a) => {
    tuning.maxIdleConnectionsPerBackend = inRange(
      'setMaxIdleDoHConnectionsPerDownstream',
      a.integer(0),
      0,
      2 ** 31 - 1,
      'a number of idle connections kept per backend, 0 or more',
    );
  });
  rt.registerFunction('setDoHDownstreamMaxIdleTime', (a) => {
    tuning.maxIdleTimeSeconds = inRange('setDoHDownstreamMaxIdleTime', a.integer(0), 0, 65535, 'a number of seconds between 0 and 65535');
  });
  rt.registerFunction('setDoHDownstreamCleanupInterval', (a) => {
    tuning.cleanupIntervalSeconds = inRange(
      'setDoHDownstreamCleanupInterval',
      a.integer(0),
      0,
      65535,
      'a number of seconds between 0 and 65535',
    );
  });
  rt.registerFunction('setOutgoingDoHWorkerThreads', (a) => {
    if (!env.configOnly('setOutgoingDoHWorkerThreads')) return;
    tuning.workerThreads = inRange('setOutgoingDoHWorkerThreads', a.integer(0), 0, 65535, 'a number of threads between 0 and 65535');
  });
}
