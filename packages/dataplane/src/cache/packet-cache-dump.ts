/**
 * `pc:dump(file)`: dnsdist 1.7.3 writes one line per entry to a file that
 * must not exist yet, and tells the console how many it wrote.
 */
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { DNSName, qtypeName } from '@dnsdist-ts/dns';
import type { CacheEntry } from './cache-entry.js';

const DUMP_HEADER = "; dnsdist's packet cache dump follows\n;\n";
/** Write in chunks of about this many characters rather than building one huge string. */
const CHUNK = 64 * 1024;

/** glibc's strerror texts for what opening the dump file typically runs into (dnsdist prints strerror). */
const STRERROR: Readonly<Record<string, string>> = {
  EEXIST: 'File exists',
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  EROFS: 'Read-only file system',
  ENOSPC: 'No space left on device',
  ENAMETOOLONG: 'File name too long',
  EMFILE: 'Too many open files',
  ELOOP: 'Too many levels of symbolic links',
};

/** An entry as dnsdist dumps it: name, seconds left (negative once expired), type, then details. */
export function formatDumpLine(entry: CacheEntry, key: number, now: number): string {
  const qname = DNSName.fromWire(entry.qnameWire).name.toString();
  return (
    `${qname} ${entry.validity - now} ${qtypeName(entry.qtype)} ; rcode ${entry.rcode}, key ${key}, ` +
    `length ${entry.response.length}, received over UDP ${entry.overUdp ? 1 : 0}, added ${entry.added}\n`
  );
}

/**
 * Create `path` (mode 0660; it must not exist) and write the header and
 * `lines` to it. Returns the console text: "Dumped N records" or dnsdist's
 * error line when the file cannot be created.
 */
export function writePacketCacheDump(path: string, lines: Iterable<string>): string {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o660);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return `Error opening dump file for writing: ${(e.code && STRERROR[e.code]) ?? e.message}\n`;
  }
  return `Dumped ${writeLines(fd, DUMP_HEADER, lines)} records\n`;
}

/**
 * Add `heading` (a comment line, or '') and `lines` to the end of a dump file
 * writePacketCacheDump created: a data-plane worker adding its copy's
 * entries. Returns the number of entries written.
 *
 * @throws the open or write error (ENOENT when the file is gone).
 */
export function appendPacketCacheDump(path: string, heading: string, lines: Iterable<string>): number {
  // No O_CREAT: a file removed meanwhile is an error, not a new file without its header.
  return writeLines(openSync(path, constants.O_WRONLY | constants.O_APPEND), heading, lines);
}

/** Write `first` then `lines` to `fd` in chunks, close it; the number of lines. */
function writeLines(fd: number, first: string, lines: Iterable<string>): number {
  let count = 0;
  try {
    let pending = first;
    for (const line of lines) {
      pending += line;
      count++;
      if (pending.length >= CHUNK) {
        writeSync(fd, pending);
        pending = '';
      }
    }
    if (pending.length > 0) writeSync(fd, pending);
  } finally {
    closeSync(fd);
  }
  return count;
}
