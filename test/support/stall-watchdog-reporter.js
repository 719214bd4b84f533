/**
 * Turns a test file that never ends into a failed run with a diagnosis,
 * instead of a CI job that runs into its time limit with nothing in its tail.
 *
 * Jest's own timeouts cannot fire in a worker whose event loop is blocked (a
 * synchronous child process that never exits, a native call that never
 * returns, a JavaScript loop). This reporter runs in the jest process, whose
 * loop is free: a file running longer than JEST_STALL_SECONDS (default 360;
 * the slowest file takes about 80 s) is reported with its worker's state (each
 * thread's kernel wait channel, its child processes and their command lines,
 * and Node's diagnostic report with the JavaScript and native stacks when the
 * worker can still write one). Then the worker's children are killed, which
 * ends a blocked synchronous spawn, and if the file still has not ended 30 s
 * later, the worker itself. The run fails either way, and the diagnosis is
 * printed again at the end of the run, where a truncated CI log still shows it.
 *
 * stall-watchdog-setup.js, run in each worker, names the file each worker
 * process runs.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { clearInterval, setInterval, setTimeout } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { join, relative } from 'node:path';

// JEST_STALL_CHECK_MS only exists so that the watchdog's own test can run in seconds.
const CHECK_EVERY_MS = Number(process.env.JEST_STALL_CHECK_MS ?? 15_000);
const REPORT_WAIT_MS = 10_000;
const KILL_WORKER_AFTER_MS = 30_000;

/** Where the jest process `jestPid`'s workers say what they run, and write their diagnostic reports. */
export function watchDirectory(jestPid) {
  return join(tmpdir(), `dnsdist-ts-jest-watch-${jestPid}`);
}

function read(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    return `(unreadable: ${e.code ?? e.message})`;
  }
}

/** /proc/PID/stat's fields after the command name (state, ppid, …); the name is in parentheses and may hold spaces. */
function statFields(pid) {
  const stat = read(`/proc/${pid}/stat`);
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

function processLine(pid) {
  const state = statFields(pid)[0];
  const cmd = read(`/proc/${pid}/cmdline`).split('\0').join(' ').trim().slice(0, 300);
  return `pid ${pid} state ${state} wchan ${read(`/proc/${pid}/wchan`)}: ${cmd}`;
}

/** Every process below `root`, depth first. */
function descendants(root) {
  const children = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const ppid = Number(statFields(name)[1]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(name));
  }
  const out = [];
  const walk = (pid, depth) => {
    for (const c of children.get(pid) ?? []) {
      out.push({ pid: c, depth });
      walk(c, depth + 1);
    }
  };
  walk(root, 1);
  return out;
}

function threads(pid) {
  const lines = [];
  let tids = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return ['  (no threads: the process is gone)'];
  }
  for (const tid of tids) {
    const comm = read(`/proc/${pid}/task/${tid}/comm`).trim();
    lines.push(`  thread ${tid} ${comm}: wchan ${read(`/proc/${pid}/task/${tid}/wchan`)}`);
  }
  const stack = read(`/proc/${pid}/stack`).trim();
  if (stack !== '') lines.push('  main thread kernel stack:', ...stack.split('\n').map((l) => `    ${l}`));
  return lines;
}

function summariseReport(text) {
  const lines = [];
  try {
    const r = JSON.parse(text);
    lines.push('  JavaScript stack:', ...(r.javascriptStack?.stack ?? []).slice(0, 30).map((l) => `    ${l.trim()}`));
    lines.push('  native stack:', ...(r.nativeStack ?? []).slice(0, 25).map((f) => `    ${f.symbol ?? ''} ${f.pc ?? ''}`));
    const handles = new Map();
    for (const h of r.libuv ?? []) if (h.is_active) handles.set(h.type, (handles.get(h.type) ?? 0) + 1);
    lines.push(`  active libuv handles: ${[...handles].map(([t, n]) => `${t} ${n}`).join(', ') || 'none'}`);
  } catch (e) {
    lines.push(`  (diagnostic report unreadable: ${e.message})`);
  }
  return lines;
}

export default class StallWatchdogReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig?.rootDir ?? process.cwd();
    this.limitMs = Number(process.env.JEST_STALL_SECONDS ?? 360) * 1000;
    this.dir = watchDirectory(process.pid);
    this.running = new Map();
    this.handled = new Set();
    this.diagnoses = [];
    this.error = undefined;
    this.timer = undefined;
  }

  onRunStart() {
    rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(this.dir, { recursive: true });
    this.timer = setInterval(() => void this.check(), CHECK_EVERY_MS);
    this.timer.unref();
  }

  onTestFileStart(test) {
    this.running.set(test.path, Date.now());
  }

  onTestFileResult(test) {
    this.running.delete(test.path);
  }

  onRunComplete() {
    clearInterval(this.timer);
    rmSync(this.dir, { recursive: true, force: true });
    if (this.diagnoses.length > 0) {
      process.stderr.write(`\nstalled test files (diagnosis repeated from above):\n${this.diagnoses.join('\n')}\n`);
      process.stderr.write(`tests: FAILED: ${this.error.message}\n`);
    }
  }

  getLastError() {
    return this.error;
  }

  /** The worker process running `path`, as the setup file recorded it. */
  workerOf(path) {
    if (!existsSync(this.dir)) return undefined;
    for (const name of readdirSync(this.dir)) {
      if (!name.startsWith('worker-')) continue;
      if (read(join(this.dir, name)) === path) return Number(name.slice('worker-'.length));
    }
    return undefined;
  }

  async check() {
    const now = Date.now();
    for (const [path, started] of this.running) {
      if (now - started < this.limitMs || this.handled.has(path)) continue;
      this.handled.add(path);
      await this.diagnose(path, now - started);
    }
  }

  async diagnose(path, elapsedMs) {
    const name = relative(this.rootDir, path);
    const lines = [`STALL: ${name} has run for ${Math.round(elapsedMs / 1000)} s (limit JEST_STALL_SECONDS=${this.limitMs / 1000})`];
    this.error = new Error(`a test file never ended: ${name} (diagnosis in the log, under STALL)`);
    const pid = this.workerOf(path);
    if (pid === undefined || pid === process.pid) {
      lines.push('  its worker process is unknown: nothing to inspect or stop');
      this.publish(lines);
      return;
    }
    lines.push(`  worker ${processLine(pid)}`, ...threads(pid));
    const kids = descendants(pid);
    lines.push(kids.length === 0 ? '  no child processes' : '  child processes:');
    for (const k of kids) lines.push(`${'  '.repeat(k.depth + 1)}${processLine(k.pid)}`);
    lines.push(...(await this.nodeReport(pid)));
    this.publish(lines);
    // A synchronous spawn returns once its child dies; the test then fails on its own.
    for (const k of kids.reverse()) {
      try {
        process.kill(k.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    setTimeout(() => {
      if (!this.running.has(path)) return;
      process.stderr.write(
        `STALL: ${name} still running ${KILL_WORKER_AFTER_MS / 1000} s after its children were killed: killing worker ${pid}\n`,
      );
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, KILL_WORKER_AFTER_MS).unref();
  }

  /** Ask the worker for Node's diagnostic report; its signal is handled by the event loop, so a blocked loop never writes one. */
  async nodeReport(pid) {
    const before = new Set(readdirSync(this.dir));
    try {
      process.kill(pid, 'SIGUSR2');
    } catch (e) {
      return [`  (no diagnostic report: ${e.message})`];
    }
    const deadline = Date.now() + REPORT_WAIT_MS;
    while (Date.now() < deadline) {
      await sleep(250);
      // Node names a report report.<date>.<time>.<pid>.<thread>.<seq>.json.
      const fresh = readdirSync(this.dir).find((f) => f.endsWith('.json') && f.includes(`.${pid}.`) && !before.has(f));
      if (fresh === undefined) continue;
      // The report is written in one go, but give the writer a moment to finish the file.
      await sleep(250);
      return summariseReport(read(join(this.dir, fresh)));
    }
    return [
      `  (no diagnostic report within ${REPORT_WAIT_MS / 1000} s: the worker's main thread is blocked, in a JavaScript loop (state R) or outside JavaScript)`,
    ];
  }

  publish(lines) {
    const text = lines.join('\n');
    this.diagnoses.push(text);
    process.stderr.write(`\n${text}\n`);
  }
}
