import { checkPinPath, ensurePinParent, removeCreatedDirs } from './bpffs.js';
import { BpfMap } from './bpf-map.js';
import { BpfProgram } from './bpf-program.js';
import { BpfError, BpfNotFoundError, call } from './errors.js';
import { native, type NativeObjectMap } from './native.js';

/** A map as declared in an object file, before or after load. */
export type ObjectMapDescription = Omit<NativeObjectMap, 'fd'>;

/**
 * An ELF object compiled by clang (-target bpf). Configure its maps
 * (pin paths, reuse of already-pinned maps, sizes, initial .rodata), then
 * load() it and take its programs and maps. close() unloads what nothing
 * else holds: programs stay attached only while an attachment or pin
 * references them.
 */
export class BpfObject {
  #handle: unknown;
  #loaded = false;
  /** Pin paths set with setMapPinPath: their directories are made at load, not before. */
  readonly #pinPaths: string[] = [];

  private constructor(
    handle: unknown,
    readonly path: string,
  ) {
    this.#handle = handle;
  }

  static open(path: string): BpfObject {
    return new BpfObject(
      call('open object', path, () => native().objectOpen(path)),
      path,
    );
  }

  get loaded(): boolean {
    return this.#loaded;
  }

  /** Maps declared by the object (with live fds only after load). */
  maps(): ObjectMapDescription[] {
    return this.n('objectMaps', () => native().objectMaps(this.handle)).map(({ fd: _fd, ...rest }) => rest);
  }

  /**
   * Pin map `name` at `path` on load: libbpf reuses a compatible map already
   * pinned there (keeping its entries) or creates and pins a new one.
   */
  setMapPinPath(name: string, path: string): this {
    this.mustNotBeLoaded('set a pin path');
    checkPinPath(path);
    this.#pinPaths.push(path);
    this.n(`set pin path of map '${name}'`, () => native().objectSetMapPinPath(this.handle, name, path));
    return this;
  }

  /** Use an existing map (e.g. one opened from a pin) in place of map `name`. */
  reuseMap(name: string, map: BpfMap): this {
    this.mustNotBeLoaded('reuse a map');
    this.n(`reuse map '${name}'`, () => native().objectReuseMapFd(this.handle, name, map.fd));
    return this;
  }

  setMapMaxEntries(name: string, maxEntries: number): this {
    this.mustNotBeLoaded('resize a map');
    this.n(`resize map '${name}'`, () => native().objectSetMapMaxEntries(this.handle, name, maxEntries));
    return this;
  }

  /** Set the initial bytes of a global-data map such as `<obj>.rodata`. */
  setInitialValue(mapName: string, data: Uint8Array): this {
    this.mustNotBeLoaded('set initial data');
    this.n(`set initial value of '${mapName}'`, () => native().objectSetInitialValue(this.handle, mapName, data));
    return this;
  }

  /**
   * Load every program and create (or reuse) every map. Verifier failures
   * throw BpfVerifierError. Missing pin directories are created just
   * before, and removed again when the load fails.
   */
  load(): this {
    this.mustNotBeLoaded('load');
    const created: string[] = [];
    try {
      for (const path of this.#pinPaths) created.push(...ensurePinParent(path));
      call('load object', this.path, () => native().objectLoad(this.handle));
    } catch (err) {
      removeCreatedDirs(created);
      throw err;
    }
    this.#loaded = true;
    return this;
  }

  programs(): BpfProgram[] {
    return this.n('list programs', () => native().objectPrograms(this.handle)).map((p) => new BpfProgram(p.name, p.type, p.fd));
  }

  /** The loaded program `name` (its fd lives as long as this object). */
  program(name: string): BpfProgram {
    const p = this.programs().find((x) => x.name === name);
    if (!p)
      throw new BpfNotFoundError(`object ${this.path} has no program '${name}'`, { code: 'ENOENT', op: 'find program', target: name });
    if (p.fd < 0)
      throw new BpfError(`program '${name}' is not loaded: call load() first`, { code: 'EINVAL', op: 'find program', target: name });
    return p;
  }

  /** Map `name` as a BpfMap of its own (a dup'ed fd: close it independently). */
  map(name: string): BpfMap {
    const m = this.n('list maps', () => native().objectMaps(this.handle)).find((x) => x.name === name);
    if (!m) throw new BpfNotFoundError(`object ${this.path} has no map '${name}'`, { code: 'ENOENT', op: 'find map', target: name });
    if (m.fd < 0) throw new BpfError(`map '${name}' is not created: call load() first`, { code: 'EINVAL', op: 'find map', target: name });
    const fd = call('dup', name, () => native().dup(m.fd));
    return BpfMap.fromFd(fd, m.pinPath ?? undefined);
  }

  close(): void {
    if (this.#handle === undefined) return;
    native().objectClose(this.#handle);
    this.#handle = undefined;
  }

  private get handle(): unknown {
    if (this.#handle === undefined)
      throw new BpfError(`object ${this.path} is closed`, { code: 'EBADF', op: 'use object', target: this.path });
    return this.#handle;
  }

  private mustNotBeLoaded(what: string): void {
    if (this.#loaded) throw new BpfError(`cannot ${what} after load (${this.path})`, { code: 'EINVAL', op: what, target: this.path });
  }

  private n<T>(op: string, fn: () => T): T {
    return call(op, this.path, fn);
  }
}
