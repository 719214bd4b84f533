/** Collects a ConsoleServer's log lines and lets a test wait for one (the event, instead of a sleep). */
import type { ConsoleLog, ConsoleLogLevel } from '@dnsdist-ts/console/console/index.js';

export class LogRecorder {
  readonly lines: { level: ConsoleLogLevel; message: string }[] = [];
  readonly #waiters: { pattern: RegExp; count: number; resolve: () => void }[] = [];

  readonly log: ConsoleLog = (level, message) => {
    this.lines.push({ level, message });
    for (const w of [...this.#waiters]) {
      if (this.count(w.pattern) >= w.count) {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };

  count(pattern: RegExp): number {
    return this.lines.filter((l) => pattern.test(l.message)).length;
  }

  /** Resolves once `count` lines in total match `pattern` (at once if they already do). */
  waitFor(pattern: RegExp, count = 1): Promise<void> {
    if (this.count(pattern) >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ pattern, count, resolve }));
  }
}
