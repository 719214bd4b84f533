/**
 * dnsdist-style logging: informational lines and warnings to stdout (as
 * dnsdist does in the foreground), verbose lines only with -v. Errors go to
 * stderr. Tests and the console can swap the sink.
 */
export class Logger {
  verbose = false;
  sink: (level: 'info' | 'warning' | 'error' | 'verbose', line: string) => void = (level, line) => {
    if (level === 'error') process.stderr.write(`${line}\n`);
    else process.stdout.write(`${line}\n`);
  };

  info(line: string): void {
    this.sink('info', line);
  }

  warn(line: string): void {
    this.sink('warning', line);
  }

  error(line: string): void {
    this.sink('error', line);
  }

  debug(line: string): void {
    if (this.verbose) this.sink('verbose', line);
  }
}
