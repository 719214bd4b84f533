/**
 * Loads the compiled addon. Everything here is fd-based and untyped at the
 * C boundary; the classes in this package give it types and lifetimes.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BtfKeyValue } from './btf-type.js';

export interface NativeMapInfo {
  type: number;
  id: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  name: string;
  btfId: number;
}

export interface NativeObjectMap {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  fd: number;
  pinPath: string | null;
}

export interface NativeProgram {
  name: string;
  section: string;
  type: number;
  fd: number;
}

export interface NativeXdpQuery {
  attachMode: number;
  progId: number;
  drvProgId: number;
  skbProgId: number;
  hwProgId: number;
}

/** The raw addon surface (see native/*.cc). */
export interface NativeBinding {
  libbpfVersion: string;
  mapCreate(type: number, name: string, keySize: number, valueSize: number, maxEntries: number, flags: number, btf?: BtfKeyValue): number;
  objPin(fd: number, path: string): void;
  objGet(path: string): number;
  mapInfo(fd: number): NativeMapInfo;
  close(fd: number): void;
  dup(fd: number): number;
  mapLookup(fd: number, key: Uint8Array, out: Uint8Array): boolean;
  mapUpdate(fd: number, key: Uint8Array, value: Uint8Array, flags: number): void;
  mapDelete(fd: number, key: Uint8Array): boolean;
  mapKeys(fd: number, keySize: number): Buffer;
  mapUpdateBatch(fd: number, keys: Uint8Array, values: Uint8Array, count: number, flags: number): { count: number; batched: boolean };
  mapDump(
    fd: number,
    keySize: number,
    valueSize: number,
    capacity: number,
  ): { keys: Buffer; values: Buffer; count: number; batched: boolean };
  mapDumpChunk(
    fd: number,
    keySize: number,
    valueSize: number,
    cursor: Uint8Array,
    keys: Uint8Array,
    values: Uint8Array,
    max: number,
  ): number;
  mapDeleteBatch(fd: number, keys: Uint8Array, count: number): { count: number; batched: boolean };
  numPossibleCpus(): number;
  objectOpen(path: string): unknown;
  objectMaps(h: unknown): NativeObjectMap[];
  objectSetMapPinPath(h: unknown, map: string, path: string): void;
  objectReuseMapFd(h: unknown, map: string, fd: number): void;
  objectSetMapMaxEntries(h: unknown, map: string, maxEntries: number): void;
  objectSetInitialValue(h: unknown, map: string, data: Uint8Array): void;
  objectLoad(h: unknown): void;
  objectPrograms(h: unknown): NativeProgram[];
  objectClose(h: unknown): void;
  ifIndex(name: string): number;
  ifName(index: number): string;
  xdpAttach(ifindex: number, progFd: number, flags: number): void;
  xdpDetach(ifindex: number, flags: number, expectedProgFd: number): void;
  xdpQuery(ifindex: number): NativeXdpQuery;
  progInfo(fd: number): { id: number; type: number; name: string };
  progFdById(id: number): number;
  sockAttach(sockFd: number, progFd: number): void;
  sockDetach(sockFd: number): void;
  progTestRun(progFd: number, data: Uint8Array, repeat: number, outCapacity: number): { retval: number; data: Buffer; duration: number };
}

const here = dirname(fileURLToPath(import.meta.url));
/** The addon sits in build/Release, one level above both src/ and dist/. */
export const addonPath = join(here, '..', 'build', 'Release', 'dnsdist_bpf.node');

let cached: NativeBinding | undefined;
let loadError: Error | undefined;

/**
 * The addon, loaded on first use. Throws an error that says how to build it
 * when it is missing, instead of a bare MODULE_NOT_FOUND.
 */
export function native(): NativeBinding {
  if (cached) return cached;
  if (loadError) throw loadError;
  if (!existsSync(addonPath)) {
    loadError = new Error(
      `@dnsdist-ts/bpf: the native addon is not built (${addonPath} is missing); in a checkout run 'make build', for an npm install install again with install scripts allowed (either way it needs g++, make, python3, pkg-config and libbpf-dev)`,
    );
    throw loadError;
  }
  const require = createRequire(import.meta.url);
  cached = require(addonPath) as NativeBinding;
  return cached;
}

/** True when the addon can be loaded on this machine. */
export function nativeAvailable(): boolean {
  try {
    native();
    return true;
  } catch {
    return false;
  }
}
