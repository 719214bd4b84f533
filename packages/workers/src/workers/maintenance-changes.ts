/**
 * Configuration changes made from maintenance() with several data-plane
 * workers. maintenance() runs once a second in the control plane only (as
 * dnsdist runs it in one place); each call it makes to a function that
 * changes the configuration is written down as Lua text that makes the
 * same call in another Lua state, and after the tick the calls are sent to
 * every worker in order, as a console command's text is
 * (worker-config-log.ts; a restarted worker replays them too).
 *
 * Arguments that are plain data are written as literals (lua-call-text.ts).
 * An object is written as what yields the same object in a worker:
 * - the name of a global that holds it in the control plane and in every
 *   worker (set by the configuration or a console command, which the
 *   workers ran too): the worker's own object, shared as here;
 * - the getter call that returned it in this maintenance() run
 *   (getServer(0), getPool("x"), getAction(2)): the worker's own object;
 * - as an argument only, the constructor call that made it (rules,
 *   actions, policies, netmask groups, names, addresses…), its own
 *   arguments written the same way, with the methods called on it since in
 *   this run: the worker makes an equal object. Constructors whose objects
 *   hold state the threads share by creation order (rate limiters, tees,
 *   packet caches, BPF maps) are not made again, nor an object made earlier
 *   and changed by a method since (the worker could not know how).
 * A call with an argument none of these can write (a Lua function, an
 * object of unknown origin) is refused, naming the function and the
 * argument. The note of where objects came from is kept while the
 * configuration runs and, with several workers, afterwards; with one
 * worker nothing is noted after the configuration.
 */
import { LuaBindingError } from '@dnsdist-ts/lua/lua/lua-errors.js';
import type { LuaValue } from '@dnsdist-ts/lua/lua/lua-table.js';
import { CannotRebuildError, luaCallText, type ObjectText } from './lua-call-text.js';

/** What the recorder reads of the Lua state (LuaRuntime; a fake in unit tests). */
export interface ObjectGlobals {
  /** Every global holding an object, by name. */
  objectGlobals(): Map<string, object>;
  /** The object global `name` holds now. */
  globalObject(name: string): object | undefined;
}

/** Getters whose result, in the same maintenance() run, is written as the getter call (a worker's own object). */
export const OBJECT_GETTERS: ReadonlySet<string> = new Set([
  'getServer',
  'getPool',
  'getAction',
  'getBind',
  'getTLSFrontend',
  'getDOHFrontend',
]);

/** Methods that only read their object: in maintenance() they run in the control plane alone, and are not sent. */
export const READ_ONLY_METHODS: ReadonlySet<string> = new Set([
  'NetmaskGroup:match',
  'NetmaskGroup:size',
  'NetmaskGroup:toString',
  'SuffixMatchNode:check',
  'SuffixMatchNode:toString',
  'DNSNameSet:check',
  'DNSNameSet:size',
  'DNSNameSet:empty',
]);

/**
 * Constructors whose objects are not made again in the workers, and why:
 * each thread pairs them with shared state by the order they are created,
 * or they own a socket or kernel maps. Keep one made by the configuration
 * in a global and pass the global.
 */
export const NOT_REBUILT: ReadonlyMap<string, string> = new Map([
  ['MaxQPSIPRule', 'its per-client counts are shared by the threads in the order such rules are made'],
  ['MaxQPSRule', 'its rate is shared by the threads in the order limiters are made'],
  ['QPSAction', 'its rate is shared by the threads in the order limiters are made'],
  ['QPSPoolAction', 'its rate is shared by the threads in the order limiters are made'],
  ['newQPSLimiter', 'its rate is shared by the threads in the order limiters are made'],
  ['TeeAction', 'its statistics are summed across the threads in the order tees are made'],
  ['newPacketCache', 'its entries are shared by the threads in the order caches are made'],
  ['newBPFFilter', 'it owns kernel maps'],
  ['newDynBPFFilter', 'it owns kernel maps'],
]);

/** Constructor names: selectors and actions (capitalised) and the new… makers, newServer aside (it changes the configuration). */
export function isObjectMaker(name: string): boolean {
  return /^[A-Z]/.test(name) || (/^new[A-Z]/.test(name) && name !== 'newServer');
}

const LUA_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LUA_KEYWORDS = new Set(
  'and break do else elseif end false for function goto if in local nil not or repeat return then true until while'.split(' '),
);

interface Origin {
  /** A constructor's ("made") or a getter's ("got"). */
  kind: 'made' | 'got';
  name: string;
  values: readonly LuaValue[];
  /** The run it happened in (0: the configuration). */
  run: number;
  /** Methods called on it since, in this run, as ":m(args)". */
  after: string[];
}

/** Why call `name` cannot be sent to the workers: which argument (0: the object of a method), and what to do. */
function refusal(name: string, position: number, why: string, workers: number): LuaBindingError {
  const which = position === 0 ? 'the object it is called on' : `its argument ${position}`;
  return new LuaBindingError(
    `${name}: refused in maintenance() with ${workers} data-plane workers: ${which} (${why}) cannot be made again in the workers, which must make the same call; build it in the configuration and keep it in a global (myAction = LuaAction(f)), then pass the global, or make the change at the console (see docs/architecture.md)`,
  );
}

/** Records maintenance()'s configuration changes as Lua text for the workers. */
export class MaintenanceChanges {
  readonly #globals: ObjectGlobals;
  readonly #origins = new WeakMap<object, Origin>();
  /** The getter call that last returned an object (a worker's own object, by position or name). */
  readonly #got = new WeakMap<object, Origin>();
  /** Objects a method changed outside the run that made them, and the method. */
  readonly #changedBy = new WeakMap<object, string>();
  /** The globals holding an object that every worker holds as well, by name. */
  #shared = new Map<string, object>();
  #run = 0;
  #calls: string[] | undefined;
  readonly #objectText: ObjectText = (obj, self) => this.#textOf(obj, self);

  constructor(globals: ObjectGlobals) {
    this.#globals = globals;
  }

  /** Whether a maintenance() run is being recorded. */
  get recording(): boolean {
    return this.#calls !== undefined;
  }

  /**
   * The globals now are what every worker has: after the configuration and
   * after each console command (whose text the workers run). Getter results
   * from before are not valid any more.
   */
  syncGlobals(): void {
    this.#shared = this.#globals.objectGlobals();
    this.#run++;
  }

  /** A maintenance() run starts. */
  begin(): void {
    this.#run++;
    this.#calls = [];
  }

  /** The run ended: its calls, in order, as Lua statements. */
  end(): string[] {
    const calls = this.#calls ?? [];
    this.#calls = undefined;
    return calls;
  }

  /** Constructor `name` returned `result`. */
  made(name: string, values: readonly LuaValue[], result: unknown): void {
    if (typeof result === 'object' && result !== null) this.#origins.set(result, { kind: 'made', name, values, run: this.#run, after: [] });
  }

  /** Getter `name` returned `result`. */
  got(name: string, values: readonly LuaValue[], result: unknown): void {
    if (typeof result === 'object' && result !== null) this.#got.set(result, { kind: 'got', name, values, run: this.#run, after: [] });
  }

  /** Method `name` ("Class:m") was called on `self` outside a recorded run (the configuration, the console). */
  changed(self: unknown, name: string): void {
    if (typeof self === 'object' && self !== null) this.#changedBy.set(self, name);
  }

  /**
   * Lua text that makes call `name(values…)` in a worker. Throws a
   * LuaBindingError naming the function and the argument it cannot write.
   */
  callText(name: string, values: readonly LuaValue[], workers: number): string {
    const text = luaCallText(name, values, this.#objectText);
    if (typeof text === 'string') return text;
    throw refusal(name, text.position, text.why, workers);
  }

  /**
   * Method `name` is called on `self` in this run: "" when `self` was made
   * in this run (the call becomes part of how it is made again), else the
   * text to send. Throws as callText does.
   */
  methodText(name: string, values: readonly LuaValue[], workers: number): string {
    const self = values[0];
    const origin = typeof self === 'object' && self !== null ? this.#origins.get(self) : undefined;
    const got = typeof self === 'object' && self !== null ? this.#got.get(self) : undefined;
    if (origin?.run === this.#run && got?.run !== this.#run && this.#sharedName(self as object) === undefined) {
      const method = name.slice(name.indexOf(':') + 1);
      const text = luaCallText(method, values.slice(1), this.#objectText);
      if (typeof text !== 'string') throw refusal(name, text.position, text.why, workers);
      origin.after.push(`:${text}`);
      return '';
    }
    return this.callText(name, values, workers);
  }

  /** Add a call that ran in the control plane (text from callText or methodText). */
  add(text: string): void {
    if (text !== '') this.#calls?.push(text);
  }

  #sharedName(obj: object): string | undefined {
    for (const [name, held] of this.#shared) {
      if (held === obj && LUA_NAME.test(name) && !LUA_KEYWORDS.has(name) && this.#globals.globalObject(name) === obj) return name;
    }
    return undefined;
  }

  #textOf(obj: object, self: boolean): string {
    const name = this.#sharedName(obj);
    if (name !== undefined) return name;
    const kind = obj.constructor?.name ?? 'object';
    const got = this.#got.get(obj);
    if (got?.run === this.#run) return this.#originCall(got);
    const origin = this.#origins.get(obj);
    if (!origin && got) throw new CannotRebuildError(`got by ${got.name}() before this maintenance() run: call it again`);
    if (!origin) throw new CannotRebuildError(`a ${kind} whose origin is not known`);
    if (self) {
      throw new CannotRebuildError(`made by ${origin.name}() and not held in a global: the workers would change a copy, not their own`);
    }
    const why = NOT_REBUILT.get(origin.name);
    if (why !== undefined) throw new CannotRebuildError(`made by ${origin.name}(), which is not made again in the workers: ${why}`);
    const changed = this.#changedBy.get(obj);
    if (changed !== undefined) throw new CannotRebuildError(`made by ${origin.name}() and changed since by ${changed}`);
    const made = this.#originCall(origin);
    return origin.after.length === 0 ? made : `(function() local o = ${made} ${origin.after.map((m) => `o${m}`).join(' ')} return o end)()`;
  }

  #originCall(origin: Origin): string {
    const text = luaCallText(origin.name, origin.values, this.#objectText);
    if (typeof text !== 'string') {
      throw new CannotRebuildError(`made by ${origin.name}(), whose argument ${text.position} is ${text.why}`);
    }
    return text;
  }
}
