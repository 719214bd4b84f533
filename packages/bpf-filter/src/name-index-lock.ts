/**
 * Mutual exclusion between processes that rebuild or switch a name index
 * (the XDP loader, `xdp-filter reindex`). Writers that only add entries
 * never take it. A lock file created with O_EXCL holds the owner's pid; a
 * lock whose owner died is taken over. Node has no flock(2), and this is
 * the one place that needs a lock, so a pid file is enough.
 */
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { BPFFilterError } from './bpf-filter-error.js';

/** Where lock files live: tmpfs, gone after a reboot like the pins they guard. */
export const NAME_INDEX_LOCK_DIR = '/run/dnsdist-ts';

const sleeper = new Int32Array(new SharedArrayBuffer(4));

function ownerOf(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryCreate(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, `${process.pid}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** Move a dead owner's lock aside (rename is atomic: one taker wins) and remove it. */
function takeOverIfDead(path: string): void {
  const owner = ownerOf(path);
  if (owner === undefined || alive(owner)) return;
  const aside = `${path}.stale-${process.pid}`;
  try {
    renameSync(path, aside);
  } catch {
    return; // someone else took it over first
  }
  const moved = ownerOf(aside);
  if (moved !== undefined && moved !== owner && alive(moved)) {
    // A live owner's lock was created between our read and the rename: put it back.
    try {
      renameSync(aside, path);
    } catch {
      /* cannot happen with one taker; leave it for the owner's release */
    }
    return;
  }
  unlinkSync(aside);
}

/**
 * Run `fn` holding the lock for the index map `mapId` (ids are unique per
 * boot, so every process agrees on the file). Waits up to `timeoutMs`.
 */
export function withNameIndexLock<T>(mapId: number, fn: () => T, timeoutMs = 10_000, dir = NAME_INDEX_LOCK_DIR): T {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const path = join(dir, `name-index-${mapId}.lock`);
  const deadline = Date.now() + timeoutMs;
  while (!tryCreate(path)) {
    takeOverIfDead(path);
    if (Date.now() > deadline) {
      throw new BPFFilterError(
        `the name index (map id ${mapId}) is being rebuilt by process ${ownerOf(path) ?? '?'} for more than ${timeoutMs} ms; if that process is gone, remove ${path}`,
        path,
      );
    }
    Atomics.wait(sleeper, 0, 0, 20); // a bounded back-off between attempts, not a synchronisation
  }
  try {
    return fn();
  } finally {
    if (ownerOf(path) === process.pid) unlinkSync(path);
  }
}
