/**
 * ffi.cdef: reads the C declarations configurations paste in (dnsdist's FFI
 * header, its stat-node header, their own helper structs) into FfiTypes.
 * Declarations, not code: typedefs of structs, opaque structs, enums and
 * scalars, struct definitions, and function prototypes. Anything else is
 * refused with the statement quoted, so a declaration that would be
 * misunderstood never passes silently.
 */
import { FfiTypeError, type CType, type FfiTypes, type StructField } from './ffi-types.js';

/** What ffi.cdef found besides types: prototypes (name → text) and enum constants. */
export interface CdefResult {
  readonly functions: Map<string, string>;
  readonly constants: Map<string, number>;
}

/** Remove comments, `__attribute__((…))` and `extern "C"`-free noise the header carries. */
function clean(source: string): string {
  let s = source.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/[^\n]*/g, ' ');
  s = s.replace(/^\s*#[^\n]*$/gm, ' ');
  for (;;) {
    const i = s.indexOf('__attribute__');
    if (i < 0) break;
    let p = s.indexOf('(', i);
    if (p < 0) break;
    let depth = 0;
    for (; p < s.length; p++) {
      if (s[p] === '(') depth++;
      else if (s[p] === ')' && --depth === 0) break;
    }
    s = `${s.slice(0, i)} ${s.slice(p + 1)}`;
  }
  return s.replace(/\bextern\b/g, ' ');
}

/** Split at top-level ';' (braces may hold their own). */
function statements(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '{') depth++;
    else if (c === '}') depth--;
    else if (c === ';' && depth === 0) {
      out.push(s.slice(start, i).trim());
      start = i + 1;
    }
  }
  const rest = s.slice(start).trim();
  if (rest !== '') throw new FfiTypeError(rest, `ffi.cdef: '${shorten(rest)}' does not end with ';'`);
  return out.filter((x) => x !== '');
}

/** Parse `source` into `types`; returns the prototypes and enum constants it declared. */
export function parseCdef(types: FfiTypes, source: string): CdefResult {
  const result: CdefResult = { functions: new Map(), constants: new Map() };
  for (const st of statements(clean(source))) parseStatement(types, st.replace(/\s+/g, ' '), result);
  return result;
}

function parseStatement(types: FfiTypes, st: string, out: CdefResult): void {
  let m: RegExpExecArray | null;
  // typedef struct NAME NAME_t;  (an opaque handle, or an alias of a struct declared elsewhere)
  if ((m = /^typedef struct (\w+) (\w+)$/.exec(st))) {
    if (types.struct(m[1]!)) types.defineStruct(m[2]!, [...types.struct(m[1]!)!.fields]);
    else types.defineOpaque(m[2]!);
    types.defineOpaque(m[1]!);
    return;
  }
  // [typedef] struct [NAME] { fields } [NAME_t]
  if ((m = /^(typedef )?struct ?(\w+)? ?\{(.*)\} ?(\w+)?$/.exec(st))) {
    const fields = parseFields(types, m[3]!, st);
    if (m[2]) types.defineStruct(m[2], fields);
    if (m[1] && m[4]) types.defineStruct(m[4], fields);
    if (!m[2] && !(m[1] && m[4])) throw new FfiTypeError(st, `ffi.cdef: the struct in '${shorten(st)}' has no name`);
    return;
  }
  // [typedef] enum [NAME] { A = 0, B, … } [NAME_t]
  if ((m = /^(typedef )?enum ?(\w+)? ?\{(.*)\} ?(\w+)?$/.exec(st))) {
    let next = 0;
    for (const item of m[3]!
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x !== '')) {
      const e = /^(\w+)(?: ?= ?(-?(?:0x[0-9a-fA-F]+|\d+)))?$/.exec(item);
      if (!e) throw new FfiTypeError(st, `ffi.cdef: cannot read the enum value '${item}' in '${shorten(st)}'`);
      const value = e[2] !== undefined ? Number(e[2]) : next;
      out.constants.set(e[1]!, value);
      next = value + 1;
    }
    const int: CType = { base: 'int', pointers: 0, array: undefined };
    if (m[2]) types.defineAlias(m[2], int);
    if (m[4]) types.defineAlias(m[4], int);
    return;
  }
  // typedef RET (*NAME)(PARAMS);  a function pointer: only ever held, never called from Lua here
  if ((m = /^typedef .+\( ?\* ?(\w+) ?\) ?\(.*\)$/.exec(st))) {
    types.defineOpaque(`${m[1]!}__fn`);
    types.defineAlias(m[1]!, { base: `${m[1]!}__fn`, pointers: 1, array: undefined });
    return;
  }
  // typedef TYPE NAME;  or  typedef TYPE NAME[N];
  if ((m = /^typedef (.+?) ?(\w+) ?(\[ ?\d* ?\])?$/.exec(st)) && !/[(){}]/.test(st)) {
    const split = splitDeclarator(`${m[1]!} ${m[2]!}`);
    types.defineAlias(m[2]!, types.parse(`${split.type}${m[3] ?? ''}`));
    return;
  }
  // RET NAME(PARAMS);
  if ((m = /^(.+?) ?\b(\w+) ?\((.*)\)$/.exec(st)) && !/[{}]/.test(st)) {
    types.parse(m[1]!.trim());
    out.functions.set(m[2]!, st);
    return;
  }
  throw new FfiTypeError(st, `ffi.cdef: cannot read '${shorten(st)}' (supported: typedefs, structs, enums and function prototypes)`);
}

function parseFields(types: FfiTypes, body: string, st: string): StructField[] {
  const fields: StructField[] = [];
  for (const decl of body
    .split(';')
    .map((x) => x.trim())
    .filter((x) => x !== '')) {
    const arr = /^(.*?)(\[ ?\d+ ?\])$/.exec(decl);
    const names = (arr ? arr[1]! : decl).split(',');
    const first = splitDeclarator(names[0]!.trim());
    if (first.name === '' || /[():]/.test(decl)) {
      throw new FfiTypeError(
        st,
        `ffi.cdef: cannot read the field '${decl}' in '${shorten(st)}' (bit-fields, function pointers and nested structs are not supported)`,
      );
    }
    fields.push({ name: first.name, type: types.parse(`${first.type}${arr ? arr[2]! : ''}`) });
    for (const more of names.slice(1)) {
      const s = splitDeclarator(`${first.base} ${more.trim()}`);
      fields.push({ name: s.name, type: types.parse(`${s.type}${arr ? arr[2]! : ''}`) });
    }
  }
  return fields;
}

/** "const char* name" → type "const char*", name "name"; base without the stars. */
function splitDeclarator(decl: string): { type: string; name: string; base: string } {
  const m = /^(.*?)(\**) ?(\w+)$/.exec(
    decl
      .replace(/\s*\*\s*/g, '*')
      .replace(/(\w)\*/g, '$1 *')
      .trim(),
  );
  if (!m) return { type: decl, name: '', base: decl };
  const base = m[1]!.trim().replace(/\*+$/, '').trim();
  return { type: `${m[1]!.trim()}${m[2]!}`, name: m[3]!, base };
}

function shorten(s: string): string {
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}
