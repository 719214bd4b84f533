/**
 * For benchmarks: how long the event loop is held, measured in a way that
 * survives a loaded machine. A 1 ms timer notes each turn it gets; between
 * two turns it reads the main thread's scheduler statistics
 * (/proc/self/task/PID/schedstat: nanoseconds on a CPU, nanoseconds
 * runnable but waiting for one). A gap's CPU time is what the thread itself
 * spent in it (our code, V8's collector, syscalls such as socket writes);
 * its wait time is what other processes took from it. On a quiet machine
 * wall ≈ CPU; at load 15 on 2 cores the wall gap is mostly waiting, and
 * the CPU figure is the one that compares across runs.
 *
 * The kernel brings a running thread's CPU time up to date only at its
 * scheduler tick (4 ms here) or when the thread sleeps, so after a gap
 * longer than 2 ms the sampler sleeps 50 µs (Atomics.wait) before reading:
 * the figure is then exact to the read, not a tick behind.
 */
import { closeSync, openSync, readSync } from 'node:fs';

/** The event loop's turns over a window. */
export interface HoldWindow {
  /** Gaps between two timer turns (about 1 ms apart when the loop is free). */
  readonly gaps: number;
  /** The longest gap, wall clock, and its CPU and run-queue wait. */
  readonly longestWallMs: number;
  readonly longestWallCpuMs: number;
  readonly longestWallWaitMs: number;
  /** The gap in which the thread used the most CPU, and that CPU. */
  readonly longestCpuMs: number;
  /** Gaps in which the thread used more than 5 / 10 ms of CPU. */
  readonly cpuOver5Ms: number;
  readonly cpuOver10Ms: number;
  /** Main-thread CPU and run-queue wait over the whole window. */
  readonly cpuMs: number;
  readonly waitMs: number;
}

export class EventLoopHoldSampler {
  readonly #fd: number;
  readonly #buf = Buffer.alloc(128);
  readonly #sleeper = new Int32Array(new SharedArrayBuffer(4));
  #timer: NodeJS.Timeout | undefined;
  #lastWall = 0;
  #lastCpu = 0;
  #lastWait = 0;
  #startCpu = 0;
  #startWait = 0;
  #gaps = 0;
  #longestWall = 0;
  #longestWallCpu = 0;
  #longestWallWait = 0;
  #longestCpu = 0;
  #over5 = 0;
  #over10 = 0;

  constructor() {
    // The main thread's task id is the process id.
    this.#fd = openSync(`/proc/self/task/${process.pid}/schedstat`, 'r');
  }

  /** [ms on CPU, ms waiting for one], read with pread (no new fd per turn); `exact`: sleep first, see above. */
  #read(exact = false): [number, number] {
    if (exact) Atomics.wait(this.#sleeper, 0, 0, 0.05);
    const n = readSync(this.#fd, this.#buf, 0, this.#buf.length, 0);
    const [cpu = '0', wait = '0'] = this.#buf.toString('latin1', 0, n).split(' ');
    return [Number(cpu) / 1e6, Number(wait) / 1e6];
  }

  /** Start a window (ends the previous one). */
  start(): void {
    this.stopTimer();
    this.#gaps = this.#longestWall = this.#longestWallCpu = this.#longestWallWait = this.#longestCpu = this.#over5 = this.#over10 = 0;
    [this.#lastCpu, this.#lastWait] = this.#read(true);
    this.#startCpu = this.#lastCpu;
    this.#startWait = this.#lastWait;
    this.#lastWall = performance.now();
    const tick = (): void => {
      const now = performance.now();
      const wall = now - this.#lastWall;
      const [cpu, wait] = this.#read(wall > 2);
      const c = cpu - this.#lastCpu;
      this.#gaps++;
      if (wall > this.#longestWall) {
        this.#longestWall = wall;
        this.#longestWallCpu = c;
        this.#longestWallWait = wait - this.#lastWait;
      }
      if (c > this.#longestCpu) this.#longestCpu = c;
      if (c > 5) this.#over5++;
      if (c > 10) this.#over10++;
      this.#lastWall = now;
      this.#lastCpu = cpu;
      this.#lastWait = wait;
      this.#timer = setTimeout(tick, 1);
    };
    this.#timer = setTimeout(tick, 1);
  }

  /** The window so far; the sampler keeps running until stop(). */
  window(): HoldWindow {
    const [cpu, wait] = this.#read(true);
    return {
      gaps: this.#gaps,
      longestWallMs: this.#longestWall,
      longestWallCpuMs: this.#longestWallCpu,
      longestWallWaitMs: this.#longestWallWait,
      longestCpuMs: this.#longestCpu,
      cpuOver5Ms: this.#over5,
      cpuOver10Ms: this.#over10,
      cpuMs: cpu - this.#startCpu,
      waitMs: wait - this.#startWait,
    };
  }

  stopTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  close(): void {
    this.stopTimer();
    closeSync(this.#fd);
  }
}

/** One line for a bench's output. */
export function holdLine(label: string, w: HoldWindow): string {
  return (
    `${label} longest gap ${w.longestWallMs.toFixed(1)} ms wall (${w.longestWallCpuMs.toFixed(1)} ms on CPU, ${w.longestWallWaitMs.toFixed(1)} ms waiting for one); ` +
    `most CPU in one gap ${w.longestCpuMs.toFixed(2)} ms; gaps over 5 / 10 ms CPU: ${w.cpuOver5Ms} / ${w.cpuOver10Ms} of ${w.gaps}; ` +
    `thread CPU ${w.cpuMs.toFixed(0)} ms, run-queue wait ${w.waitMs.toFixed(0)} ms`
  );
}
