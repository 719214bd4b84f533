/**
 * For benchmarks: curl scrapes run from a process of their own, as
 * Prometheus would be. Starting curl from the proxy's own process would
 * fork it on the event loop under test: a fork of a process of that size
 * holds the loop for 5–15 ms of CPU, more than the scrape being measured.
 */
import { spawn, type ChildProcess } from 'node:child_process';

/** One scrape: milliseconds from connect to the last byte, and the bytes transferred. */
export interface CurlScrape {
  readonly ms: number;
  readonly bytes: number;
}

// Plain JavaScript: runs under `node -e`. Each stdin line is a JSON array of curl arguments.
const SCRAPER_SOURCE = `
const { execFile } = require('node:child_process');
let buffered = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buffered += chunk;
  let nl;
  while ((nl = buffered.indexOf('\\n')) >= 0) {
    const args = JSON.parse(buffered.slice(0, nl));
    buffered = buffered.slice(nl + 1);
    execFile('curl', args, (err, stdout) => {
      process.stdout.write(JSON.stringify(err ? { error: String(err.message) } : { out: stdout }) + '\\n');
    });
  }
});
process.stdin.on('end', () => process.exit(0));
`;

export class CurlScraper {
  readonly #child: ChildProcess;
  #buffered = '';
  readonly #waiting: Array<(line: { out?: string; error?: string }) => void> = [];

  /** The child process's pid (the bench may pin it to a CPU of its own). */
  get pid(): number {
    return this.#child.pid!;
  }

  constructor() {
    this.#child = spawn(process.execPath, ['-e', SCRAPER_SOURCE], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.#child.stdout!.setEncoding('utf8');
    this.#child.stdout!.on('data', (chunk: string) => {
      this.#buffered += chunk;
      let nl;
      while ((nl = this.#buffered.indexOf('\n')) >= 0) {
        const line = this.#buffered.slice(0, nl);
        this.#buffered = this.#buffered.slice(nl + 1);
        this.#waiting.shift()?.(JSON.parse(line) as { out?: string; error?: string });
      }
    });
  }

  /** GET `url` once with these headers. */
  scrape(url: string, headers: readonly string[]): Promise<CurlScrape> {
    const args = ['-s', '-o', '/dev/null', ...headers.flatMap((h) => ['-H', h]), '-w', '%{time_total} %{size_download}', url];
    return new Promise((resolve, reject) => {
      this.#waiting.push((r) => {
        if (r.error !== undefined) return reject(new Error(`curl ${url}: ${r.error}`));
        const [t, size] = (r.out ?? '').split(' ');
        resolve({ ms: Number(t) * 1000, bytes: Number(size) });
      });
      this.#child.stdin!.write(JSON.stringify(args) + '\n');
    });
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.#child.once('exit', () => resolve());
      this.#child.stdin!.end();
    });
  }
}
