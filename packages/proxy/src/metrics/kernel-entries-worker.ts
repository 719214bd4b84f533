/**
 * The per-entry renderer thread's body: reads the kernel block maps through
 * fds the scrape lends it (BPF map fds are process-wide) and writes
 * `dnsdist_ts_kernel_block_hits_total` with the same code as the event
 * loop's renderer (writeKernelBlockHits over walkFilter), so the text is
 * the same byte for byte. The ~100 MB of short-lived strings that 100,000
 * entries cost are this thread's V8 heap's garbage: its collector never
 * pauses the event loop that answers DNS.
 */
import { parentPort } from 'node:worker_threads';
import { BpfMap } from '@dnsdist-ts/bpf';
import type { FilterMapKind } from '@dnsdist-ts/bpf-filter';
import { walkFilter, type CountedFilter } from './bpf-filter-sources.js';
import { EventLoopSlicer } from './event-loop-slicer.js';
import { writeKernelBlockHits } from './kernel-block-hits.js';
import type { FilterMapFds, KernelEntriesJob, KernelEntriesReply } from './kernel-entries-messages.js';
import type { KernelCounterProvider } from './observability-providers.js';
import { PrometheusTextWriter } from './prometheus-text-writer.js';

/** A filter over borrowed fds: the scrape owns them and closes them once this job has answered. */
function borrowedFilter(f: FilterMapFds): CountedFilter {
  const maps = new Map<FilterMapKind, BpfMap>();
  for (const [kind, fd] of f.maps) maps.set(kind, BpfMap.borrow(fd));
  return { external: f.external, map: (kind: FilterMapKind) => maps.get(kind) };
}

function provider(filters: readonly FilterMapFds[]): KernelCounterProvider {
  // Opened inside the walk, so a bad fd counts as this provider's error as a failed read would.
  function* walk(visit: Parameters<KernelCounterProvider['visitKernelCounters']>[0]): Generator<void, void, void> {
    for (const f of filters) yield* walkFilter(borrowedFilter(f), visit);
  }
  return {
    visitKernelCounters: (visit) => {
      const steps = walk(visit);
      while (!steps.next().done);
    },
    walkKernelCounters: walk,
  };
}

async function render(job: KernelEntriesJob): Promise<KernelEntriesReply> {
  const writer = new PrometheusTextWriter(job.sizeHint + job.sizeHint / 8);
  const errors: Array<[string, string]> = [];
  // An unbounded slice: nothing else runs on this thread, so the walk never needs to yield.
  const totals = await writeKernelBlockHits(writer, job.providers.map(provider), new EventLoopSlicer(Infinity), {
    limit: job.limit,
    onError: (name, err) => void errors.push([name, err instanceof Error ? err.message : String(err)]),
  });
  const bytes = writer.bytes();
  const buffer = new ArrayBuffer(bytes.length);
  bytes.copy(new Uint8Array(buffer));
  return { id: job.id, ok: true, buffer, length: bytes.length, totals, errors };
}

const port = parentPort;
if (!port) throw new Error('kernel-entries-worker.js runs as a worker thread (started by KernelEntriesThread)');
port.on('message', (job: KernelEntriesJob) => {
  render(job).then(
    (reply) => port.postMessage(reply, reply.ok ? [reply.buffer] : []),
    (err: unknown) => port.postMessage({ id: job.id, ok: false, message: err instanceof Error ? err.message : String(err) }),
  );
});
