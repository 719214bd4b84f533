/**
 * Readiness of Debian's dnsdist as a DNS peer: its answers to a probe are
 * the event (a started process is not yet listening).
 */
import type { SpawnedDnsdist } from '../../../../test/support/dnsdist.js';
import { udpExchange } from './dns-client.js';

/**
 * Resolve once `dnsdist` answers `probe` over UDP on 127.0.0.1:`port`
 * (probes back to back, each waiting 200 ms for its answer); rejects with
 * dnsdist's output if it exits first or stays silent for `timeoutMs`.
 */
export async function waitForDnsdistAnswer(dnsdist: SpawnedDnsdist, port: number, probe: Buffer, timeoutMs = 20000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!dnsdist.exited() && Date.now() < deadline) {
    if (await udpExchange(port, probe, 200)) return;
  }
  throw new Error(`dnsdist did not start: ${dnsdist.output()}`);
}
