/**
 * EventLoopSlicer's account of the loop's holds (a pure-logic unit test
 * with a fake clock): what `dnsdist_ts_scrape_longest_slice_seconds`
 * reports must be time the scrape held the loop, not time it waited for
 * its renderer thread or for gzip on libuv's pool while the loop was free.
 */
import { EventLoopSlicer } from '@dnsdist-ts/web/metrics/event-loop-slicer.js';

function fakeClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

describe('EventLoopSlicer', () => {
  it('does not count the time a wait() took as a slice, and counts the work before and after it', async () => {
    const clock = fakeClock();
    const slicer = new EventLoopSlicer(4, clock.now);
    clock.advance(3); // work before handing over
    const elsewhere = new Promise<string>((resolve) => setImmediate(() => (clock.advance(500), resolve('done'))));
    expect(await slicer.wait(elsewhere)).toBe('done');
    clock.advance(2); // work after the answer
    expect(slicer.longestSliceMs).toBe(3);
    clock.advance(5);
    expect(slicer.longestSliceMs).toBe(7);
  });

  it('starts a new slice after a wait whose work failed', async () => {
    const clock = fakeClock();
    const slicer = new EventLoopSlicer(4, clock.now);
    const failing = new Promise<never>((_, reject) => setImmediate(() => (clock.advance(800), reject(new Error('thread gone')))));
    await expect(slicer.wait(failing)).rejects.toThrow('thread gone');
    clock.advance(1);
    expect(slicer.longestSliceMs).toBe(1);
  });

  it('counts a slice up to each yield and each checkpoint over budget', async () => {
    const clock = fakeClock();
    const slicer = new EventLoopSlicer(4, clock.now);
    clock.advance(3);
    await slicer.checkpoint(); // under budget: the slice goes on
    expect(slicer.yields).toBe(0);
    clock.advance(3);
    await slicer.checkpoint();
    expect(slicer.yields).toBe(1);
    clock.advance(2);
    await slicer.yield();
    expect(slicer.longestSliceMs).toBe(6);
    expect(slicer.yields).toBe(2);
  });
});
