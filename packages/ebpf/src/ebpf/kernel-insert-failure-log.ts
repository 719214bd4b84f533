import { BpfError, BpfMapFullError } from '@dnsdist-ts/bpf';
import { BPFFilterError } from '@dnsdist-ts/bpf-filter';

/** Why the kernel did not take a dynamic block (each is logged once, all are counted). */
export type KernelInsertFailureReason = 'table-full' | 'unsupported' | 'missing-map' | 'permanent-entry' | 'invalid-block' | 'kernel-error';

/** Sort an insertion error into a reason; the message stays the detail. */
export function classifyInsertError(err: unknown): KernelInsertFailureReason {
  if (err instanceof BpfMapFullError) return 'table-full';
  if (err instanceof BPFFilterError) {
    const m = err.message;
    if (m.startsWith('Table full')) return 'table-full';
    if (m.startsWith('Unsupported action') || m.includes('unsupported map type')) return 'unsupported';
    if (/^no cidr[46] map|has no \w+ map/.test(m)) return 'missing-map';
    if (m.startsWith('invalid') || m.startsWith('Invalid')) return 'invalid-block';
    return 'kernel-error';
  }
  if (err instanceof BpfError) return 'kernel-error';
  if (err instanceof RangeError || err instanceof TypeError) return 'invalid-block';
  return 'kernel-error';
}

/**
 * Counts dynamic blocks the kernel refused, and logs the first refusal of
 * each reason with its detail. A flood of new attackers into a full map
 * would otherwise log one line per address, every second.
 */
export class KernelInsertFailureLog {
  #total = 0;
  readonly #byReason = new Map<KernelInsertFailureReason, number>();
  readonly #log: (line: string) => void;

  /** @param log where the once-per-reason warning goes (the proxy's warning log). */
  constructor(log: (line: string) => void) {
    this.#log = log;
  }

  /** Insertions refused since start, all reasons together (the `kernel-insert-failures` metric). */
  get total(): number {
    return this.#total;
  }

  /** Refusals for one reason. */
  count(reason: KernelInsertFailureReason): number {
    return this.#byReason.get(reason) ?? 0;
  }

  /** Refusals by reason, reasons with none left out (what the metrics list). */
  byReason(): Record<string, number> {
    return Object.fromEntries(this.#byReason);
  }

  /** Count a refusal of `what` (an address, range or name); log it when it is the first for its reason. */
  record(reason: KernelInsertFailureReason, what: string, detail: string): void {
    this.#total++;
    const n = (this.#byReason.get(reason) ?? 0) + 1;
    this.#byReason.set(reason, n);
    if (n === 1) {
      this.#log(
        `Unable to insert eBPF dynamic block for ${what}, falling back to regular dynamic block: ${detail}` +
          ` (reason '${reason}' is logged once; later ones are counted in kernel-insert-failures)`,
      );
    }
  }
}
