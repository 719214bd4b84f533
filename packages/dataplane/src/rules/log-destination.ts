/**
 * Where LogAction and LogResponseAction send their lines, and the
 * timestamps they put in front of them.
 */
import { LogFileWriter } from './log-file-writer.js';

export interface LogDestinationOptions {
  /** Append to the file (default false: truncate it when opening). */
  append?: boolean;
  /** Buffer file writes (default true). */
  buffered?: boolean;
  /** Without a file, log only when the proxy runs verbose (default true). */
  verboseOnly?: boolean;
  /** Prefix every entry with the time the query was received (default false). */
  includeTimestamp?: boolean;
  /** dnsdist's infolog, used when there is no file. Default: a line on stdout. */
  infoLog?: (line: string) => void;
  /** Whether the proxy runs with -v. Default: never. */
  isVerbose?: () => boolean;
}

const writeStdout = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const never = (): boolean => false;

/** A log target: a file when a name was given, otherwise the info log. */
export class LogDestination {
  readonly filename: string;
  readonly includeTimestamp: boolean;
  readonly file: LogFileWriter | undefined;
  readonly #verboseOnly: boolean;
  readonly #infoLog: (line: string) => void;
  readonly #isVerbose: () => boolean;

  /** @throws LogFileOpenError when the file cannot be opened. */
  constructor(filename: string, options: LogDestinationOptions) {
    this.filename = filename;
    this.includeTimestamp = options.includeTimestamp ?? false;
    this.#verboseOnly = options.verboseOnly ?? true;
    this.#infoLog = options.infoLog ?? writeStdout;
    this.#isVerbose = options.isVerbose ?? never;
    this.file = filename === '' ? undefined : new LogFileWriter(filename, options);
  }

  /** Without a file: whether a line would be logged now. */
  get infoLogEnabled(): boolean {
    return !this.#verboseOnly || this.#isVerbose();
  }

  /** Send a text line (without its newline) to the file or the info log. */
  line(text: string): void {
    if (this.file) this.file.write(`${text}\n`);
    else if (this.infoLogEnabled) this.#infoLog(text);
  }

  /** Close and reopen the file (log rotation); nothing to do without one. */
  reload(): void {
    this.file?.reload();
  }

  close(): void {
    this.file?.close();
  }

  /** dnsdist's "[seconds.nanoseconds] " prefix (nanoseconds not zero-padded, as dnsdist prints them). */
  static textTimestamp(receivedAt: number): string {
    const { seconds, nanoseconds } = wallClock(receivedAt);
    return `[${seconds}.${nanoseconds}] `;
  }
}

/** The wall-clock time of a monotonic `performance.now()` reading, as whole seconds and nanoseconds. */
export function wallClock(monotonicMs: number): { seconds: number; nanoseconds: number } {
  const wallMs = performance.timeOrigin + monotonicMs;
  const seconds = Math.floor(wallMs / 1000);
  const nanoseconds = Math.min(999_999_999, Math.round((wallMs - seconds * 1000) * 1e6));
  return { seconds, nanoseconds };
}
