/**
 * The renderer thread's body: reads the kernel block maps through fds the
 * scrape lends it (BPF map fds are process-wide) and writes
 * `dnsdist_ts_kernel_block_hits_total` with the same code as the event
 * loop's renderer (writeKernelBlockHits over walkFilter), so the text is
 * the same byte for byte; then assembles (and gzips) the body. The ~100 MB
 * of short-lived strings and the megabyte buffers that 100,000 entries
 * cost are this thread's V8 heap's: its collector never pauses the event
 * loop that answers DNS.
 */
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { gzipSync } from 'node:zlib';
import { BpfMap } from '@dnsdist-ts/bpf';
import type { FilterMapKind } from '@dnsdist-ts/bpf-filter';
import { walkFilter, type CountedFilter } from './bpf-filter-sources.js';
import { EventLoopSlicer } from './event-loop-slicer.js';
import { writeKernelBlockHits } from './kernel-block-hits.js';
import type { FilterMapFds, FromRenderer, ToRenderer } from './kernel-entries-messages.js';
import type { KernelCounterProvider, KernelCounterVisitor } from './observability-providers.js';
import { PrometheusTextWriter } from './prometheus-text-writer.js';

/** A filter over borrowed fds: the scrape owns them and closes them once the render step has answered. */
function borrowedFilter(f: FilterMapFds): CountedFilter {
  const maps = new Map<FilterMapKind, BpfMap>();
  for (const [kind, fd] of f.maps) maps.set(kind, BpfMap.borrow(fd));
  return { external: f.external, map: (kind: FilterMapKind) => maps.get(kind) };
}

function provider(filters: readonly FilterMapFds[]): KernelCounterProvider {
  // The fds are borrowed inside the walk, so a bad one counts as this provider's error, as a failed read would.
  function* walk(visit: KernelCounterVisitor): Generator<void, void, void> {
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

/** Nice 19. */
const LOWEST_PRIORITY = 19;

/** Rendered families waiting for their `finish`. */
const rendered = new Map<number, Buffer>();

async function handle(m: ToRenderer): Promise<FromRenderer | undefined> {
  switch (m.type) {
    case 'render': {
      const writer = new PrometheusTextWriter(m.sizeHint + m.sizeHint / 8);
      const errors: Array<[string, string]> = [];
      // A provider without filters has no entries: left out, the others are written as they are read when
      // only one is left, not through the merge of several sources (a map keyed by a string per entry,
      // about twice the CPU and garbage of the whole render). Errors keep each provider's own index.
      const used = m.providers.flatMap((filters, i) => (filters.length > 0 ? [{ filters, name: `kernel-counters-${i}` }] : []));
      // An unbounded slice: nothing else runs on this thread, so the walk never needs to yield.
      const totals = await writeKernelBlockHits(
        writer,
        used.map((u) => provider(u.filters)),
        new EventLoopSlicer(Infinity),
        {
          names: used.map((u) => u.name),
          limit: m.limit,
          onError: (name, err) => void errors.push([name, err instanceof Error ? err.message : String(err)]),
        },
      );
      const bytes = writer.bytes();
      rendered.set(m.id, bytes);
      return { type: 'rendered', id: m.id, length: bytes.length, totals, errors };
    }
    case 'finish': {
      const entries = rendered.get(m.id);
      rendered.delete(m.id);
      if (!entries) throw new Error(`no rendered family for scrape ${m.id}`);
      const head = Buffer.from(m.head, 'utf8');
      const out = new Uint8Array(m.target);
      let length: number;
      if (m.gzip) {
        // Level 1: a fifth of the CPU of the default level for a text this repetitive, about as small.
        const z = gzipSync(Buffer.concat([head, entries]), { level: 1 });
        if (z.length > out.length) throw new Error(`the compressed scrape (${z.length} bytes) does not fit its ${out.length}-byte buffer`);
        out.set(z);
        length = z.length;
      } else {
        length = head.length + entries.length;
        if (length > out.length) throw new Error(`the scrape (${length} bytes) does not fit its ${out.length}-byte buffer`);
        out.set(head);
        out.set(entries, head.length);
      }
      return { type: 'finished', id: m.id, length };
    }
    case 'drop':
      rendered.delete(m.id);
      return undefined;
  }
}

const port = parentPort;
if (!port) throw new Error('kernel-entries-worker.js runs as a worker thread (started by KernelEntriesThread)');
try {
  // This thread only (Linux's setpriority is per thread): when it and the event loop that answers DNS
  // both want a core, the event loop gets it, and the renderer weighs little in the process's share.
  setPriority(LOWEST_PRIORITY);
} catch {
  // Not allowed here (a container without the right): the renderer runs at the process's priority.
}
port.on('message', (m: ToRenderer) => {
  handle(m).then(
    (reply) => reply && port.postMessage(reply),
    (err: unknown) => port.postMessage({ type: 'failed', id: m.id, message: err instanceof Error ? err.message : String(err) }),
  );
});
