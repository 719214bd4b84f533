import { existsSync, unlinkSync } from 'node:fs';
import { BpfMap, type MapSpec } from './bpf-map.js';
import { checkPinPath, removeCreatedDirs } from './bpffs.js';
import { BpfBusyError, BpfError } from './errors.js';

/** Where an existing map handed out by PinTransaction.openOrCreate comes from. */
export type ExistingMapSource = 'pinned' | 'planned';

/** Checks an existing map against what the caller needs; throws to refuse it. */
export type ExistingMapCheck = (existing: BpfMap, source: ExistingMapSource) => void;

export interface PinTransactionOptions {
  /**
   * Check only (a configuration check): commit() pins nothing, and maps
   * already pinned are read into private copies, so that nothing written
   * to them reaches the pinned ones.
   */
  dryRun?: boolean;
}

function closeOnThrow<T>(map: BpfMap, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    map.close();
    throw err;
  }
}

/** The id of the map pinned at `path`, or undefined when nothing (or no map) is there. */
function pinnedMapId(path: string): number | undefined {
  try {
    const m = BpfMap.openPinned(path);
    try {
      return m.info().id;
    } finally {
      m.close();
    }
  } catch {
    return undefined;
  }
}

function alreadyPinned(path: string): BpfBusyError {
  return new BpfBusyError(
    `Unable to pin map to path '${path}': something was pinned there while the configuration was being read; remove it (rm ${path}) or choose another path`,
    { code: 'EEXIST', op: 'pin', target: path, hint: `remove ${path} or choose another pin path` },
  );
}

/**
 * Pins made as one unit. Maps are created unpinned and their pins
 * planned, each path checked as it is planned (bpffs, parent directories)
 * with nothing created on the file system; commit() checks every planned
 * path again and only then pins them all; undo() removes what commit()
 * created when what the pins were for failed. Pins that existed before
 * (opened, not created) and directories that existed before are never
 * removed. A dry run checks the same things and creates nothing.
 */
export class PinTransaction {
  readonly dryRun: boolean;
  /** Planned path → handles on the map to pin there (several when the path is asked for twice). */
  readonly #planned = new Map<string, BpfMap[]>();
  readonly #pins: Array<{ path: string; id: number }> = [];
  readonly #dirs: string[] = [];
  #state: 'planning' | 'committed' | 'undone' = 'planning';

  constructor(options: PinTransactionOptions = {}) {
    this.dryRun = options.dryRun ?? false;
  }

  /** 'planning' until commit(); 'undone' after undo() or a failed commit. */
  get state(): 'planning' | 'committed' | 'undone' {
    return this.#state;
  }

  /** An open handle on the map planned at `path`, if any. */
  planned(path: string): BpfMap | undefined {
    return this.#planned.get(path)?.find((m) => !m.closed);
  }

  /** Paths with a map planned (and still open). */
  get plannedPaths(): string[] {
    return [...this.#planned.keys()].filter((p) => this.planned(p) !== undefined);
  }

  /**
   * Plan pinning `map` at `path`. The path is checked now (nothing pinned
   * there, a directory on bpffs or a place below one where the missing
   * directories can be made); nothing is created until commit().
   */
  plan(map: BpfMap, path: string): void {
    this.#mustBePlanning('plan a pin');
    const other = this.planned(path);
    if (other !== undefined && other !== map) {
      throw new BpfBusyError(`Unable to pin map to path '${path}': another map of this configuration is to be pinned there`, {
        code: 'EEXIST',
        op: 'pin',
        target: path,
        hint: 'give every map its own pin path',
      });
    }
    if (existsSync(path)) throw alreadyPinned(path);
    checkPinPath(path);
    this.#planned.set(path, [map]);
  }

  /**
   * The map for `path`: the one pinned there (after `check`; a private
   * copy in a dry run), another handle on the map already planned there
   * (after `check`), or a new unpinned map made from `spec` with its pin
   * planned. Without a path, just a new map. `reused` is false only for a
   * new map.
   */
  openOrCreate(spec: MapSpec, path: string | undefined, check: ExistingMapCheck): { map: BpfMap; reused: boolean } {
    if (path === undefined) return { map: BpfMap.create(spec), reused: false };
    const planned = this.#state === 'planning' ? this.planned(path) : undefined;
    if (planned) {
      const map = planned.duplicate();
      closeOnThrow(map, () => check(map, 'planned'));
      this.#planned.get(path)!.push(map);
      return { map, reused: true };
    }
    if (existsSync(path)) {
      const pinned = BpfMap.openPinned(path);
      closeOnThrow(pinned, () => check(pinned, 'pinned'));
      if (!this.dryRun) return { map: pinned, reused: true };
      try {
        return { map: pinned.copy(), reused: true };
      } finally {
        pinned.close();
      }
    }
    this.#mustBePlanning('plan a pin');
    checkPinPath(path); // before the map is made: a path that cannot work costs nothing
    const map = BpfMap.create(spec);
    closeOnThrow(map, () => this.plan(map, path));
    return { map, reused: false };
  }

  /**
   * Pin every planned map whose handle is still open. Every path is
   * checked again first, all of them before any pin is made (whatever ran
   * since plan() may have changed things); should a pin still fail, the
   * pins and directories made so far are removed before throwing. A dry
   * run stops after the checks.
   */
  commit(): void {
    this.#mustBePlanning('commit');
    const todo = this.plannedPaths.map((path) => [path, this.planned(path)!] as const);
    for (const [path] of todo) {
      if (existsSync(path)) throw alreadyPinned(path);
      checkPinPath(path);
    }
    if (this.dryRun) {
      this.#state = 'committed';
      return;
    }
    try {
      for (const [path, map] of todo) {
        this.#dirs.push(...map.pin(path));
        this.#pins.push({ path, id: map.info().id });
      }
    } catch (err) {
      this.undo();
      throw err;
    }
    this.#state = 'committed';
  }

  /**
   * Remove what commit() created: its pins (each only while it still holds
   * the map commit() pinned there) and the directories it made, innermost
   * first, when empty. Nothing that existed before is touched. Idempotent;
   * planning ends.
   */
  undo(): void {
    this.#state = 'undone';
    this.#planned.clear();
    for (const { path, id } of this.#pins.splice(0).reverse()) {
      if (pinnedMapId(path) !== id) continue;
      try {
        unlinkSync(path);
      } catch {
        // Removed meanwhile: nothing left to undo.
      }
    }
    removeCreatedDirs(this.#dirs.splice(0));
  }

  /** The pins and directories commit() made (and undo() has not removed). */
  get created(): { pins: string[]; dirs: string[] } {
    return { pins: this.#pins.map((p) => p.path), dirs: [...this.#dirs] };
  }

  #mustBePlanning(what: string): void {
    if (this.#state !== 'planning') {
      throw new BpfError(`cannot ${what}: this set of pins was already ${this.#state === 'committed' ? 'made' : 'undone'}`, {
        code: 'EINVAL',
        op: what,
        hint: 'start a new PinTransaction for pins made later',
      });
    }
  }
}
