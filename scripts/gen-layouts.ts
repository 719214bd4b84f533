/**
 * The TypeScript view of packages/bpf-filter/bpf/dnsdist-maps.h, generated
 * from the BTF clang emits for it (in the spirit of cilium/ebpf's bpf2go):
 * clang compiles a probe that includes the header and names each struct,
 * enum and macro the header declares; bpftool dumps the probe's BTF, which
 * gives every struct's size and member offsets, every enumerator, and every
 * macro's value (as 16-bit enumerators: clang 14's BTF enums hold 32 signed
 * bits). Nothing is listed by hand, so a change to the header reaches
 * TypeScript or fails packages/bpf-filter/test/layouts.test.ts.
 *
 *   tsx scripts/gen-layouts.ts          write the generated file (`make layouts`)
 *   tsx scripts/gen-layouts.ts --check  exit 1 when it is stale
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const LAYOUT_HEADER = join(ROOT, 'packages/bpf-filter/bpf/dnsdist-maps.h');
export const GENERATED_LAYOUTS = join(ROOT, 'packages/bpf-filter/src/generated/layouts.ts');

export interface MemberLayout {
  offset: number;
  size: number;
}

export interface StructLayout {
  size: number;
  members: Array<[string, MemberLayout]>;
}

/** What the header declares, in its order, with the values BTF gives. */
export type Declaration =
  | { kind: 'macro'; name: string; value: bigint; bytes: number }
  | { kind: 'enum'; name: string; values: Array<[string, number]> }
  | { kind: 'struct'; name: string; layout: StructLayout };

interface BtfType {
  id: number;
  kind: string;
  name: string;
  size?: number;
  type_id?: number;
  nr_elems?: number;
  members?: Array<{ name: string; type_id: number; bits_offset: number; bitfield_size?: number }>;
  values?: Array<{ name: string; val: number }>;
}

/** Top-level structs, enums and valued object-like macros of a header, in order. */
export function headerNames(source: string): Array<{ kind: Declaration['kind']; name: string }> {
  const out: Array<{ kind: Declaration['kind']; name: string }> = [];
  for (const m of source.matchAll(/^(?:(struct|enum) (\w+) \{|#define (\w+)[ \t]+\S)/gm)) {
    if (m[3] !== undefined) out.push({ kind: 'macro', name: m[3] });
    else out.push({ kind: m[1] as 'struct' | 'enum', name: m[2]! });
  }
  return out;
}

const WORDS = 4; // 16-bit words of a macro's value: up to 64 bits
const word = (macro: string, i: number) => `layout__${macro}__w${i}`;
const byteCount = (macro: string) => `layout__${macro}__bytes`;

function probeSource(header: string, names: ReturnType<typeof headerNames>): string {
  const lines = [`#include "${header}"`];
  const macros: string[] = [];
  for (const { kind, name } of names) {
    if (kind === 'macro') {
      macros.push(`\t${byteCount(name)} = sizeof(${name}),`);
      for (let i = 0; i < WORDS; i++) macros.push(`\t${word(name, i)} = ((__u64)(${name}) >> ${16 * i}) & 0xffff,`);
    } else {
      // A global pointer is enough for clang to describe the type in BTF.
      lines.push(`${kind} ${name} *layout__${kind}_${name};`);
    }
  }
  lines.push('enum layout__macros {', ...macros, '};', 'enum layout__macros *layout__macros;');
  return lines.join('\n') + '\n';
}

function compileBtf(header: string, names: ReturnType<typeof headerNames>): BtfType[] {
  const dir = mkdtempSync(join(tmpdir(), 'dts-layouts-'));
  try {
    const src = join(dir, 'probe.c');
    const obj = join(dir, 'probe.o');
    writeFileSync(src, probeSource(header, names));
    execFileSync('clang', ['-target', 'bpf', '-g', '-O2', '-I/usr/include/x86_64-linux-gnu', '-c', src, '-o', obj], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const json = execFileSync('bpftool', ['-j', 'btf', 'dump', 'file', obj], { encoding: 'utf8' });
    return (JSON.parse(json) as { types: BtfType[] }).types;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

class LayoutError extends Error {}

/** Read the header's declarations through the BTF clang emits for it. */
export function readLayouts(header = LAYOUT_HEADER): Declaration[] {
  const names = headerNames(readFileSync(header, 'utf8'));
  const types = compileBtf(resolve(header), names);
  const byId = new Map(types.map((t) => [t.id, t]));
  const named = (kind: string, name: string) => {
    const t = types.find((x) => x.kind === kind && x.name === name);
    if (!t) throw new LayoutError(`no ${kind} ${name} in the BTF of ${header}`);
    return t;
  };
  const sizeOf = (id: number): number => {
    const t = byId.get(id);
    if (!t) throw new LayoutError(`BTF type ${id} missing`);
    switch (t.kind) {
      case 'INT':
      case 'ENUM':
      case 'STRUCT':
      case 'UNION':
        return t.size!;
      case 'PTR':
        return 8;
      case 'ARRAY':
        return t.nr_elems! * sizeOf(t.type_id!);
      case 'TYPEDEF':
      case 'CONST':
      case 'VOLATILE':
      case 'RESTRICT':
        return sizeOf(t.type_id!);
      default:
        throw new LayoutError(`cannot size BTF ${t.kind} ${t.name}`);
    }
  };
  const enumerator = (t: BtfType, name: string) => {
    const v = t.values!.find((x) => x.name === name)?.val;
    if (v === undefined || !Number.isSafeInteger(v) || v < -(2 ** 31) || v >= 2 ** 31)
      throw new LayoutError(`enumerator ${name}: ${v} is not a 32-bit value`);
    return v;
  };
  const macros = types.find((t) => t.kind === 'ENUM' && t.name === 'layout__macros');
  return names.map(({ kind, name }): Declaration => {
    if (kind === 'macro') {
      let value = 0n;
      for (let i = WORDS - 1; i >= 0; i--) value = (value << 16n) | BigInt(enumerator(macros!, word(name, i)));
      return { kind, name, value, bytes: enumerator(macros!, byteCount(name)) };
    }
    if (kind === 'enum') {
      const t = named('ENUM', name);
      return { kind, name, values: t.values!.map((v) => [v.name, enumerator(t, v.name)]) };
    }
    const t = named('STRUCT', name);
    const members = t.members!.map((m): [string, MemberLayout] => {
      if (m.bitfield_size || m.bits_offset % 8) throw new LayoutError(`${name}.${m.name} is a bit field`);
      return [m.name, { offset: m.bits_offset / 8, size: sizeOf(m.type_id) }];
    });
    return { kind, name, layout: { size: t.size!, members } };
  });
}

function render(decls: Declaration[]): string {
  const out = [
    '// Generated by scripts/gen-layouts.ts from packages/bpf-filter/bpf/dnsdist-maps.h',
    '// (the BTF clang emits for it): do not edit; run `make layouts` after changing the header.',
    '',
  ];
  for (const d of decls) {
    if (d.kind === 'macro') {
      // 64-bit constants (FNV and fingerprint keys, the index marker) are bigints, as TS computes them.
      const v = d.bytes > 4 ? `0x${d.value.toString(16)}n` : d.value.toString();
      out.push(`export const ${d.name} = ${v};`);
    } else if (d.kind === 'enum') {
      out.push(`/** enum ${d.name} */`, `export const ${d.name} = { ${d.values.map(([n, v]) => `${n}: ${v}`).join(', ')} } as const;`);
    } else {
      const members = d.layout.members.map(([n, m]) => `${n}: { offset: ${m.offset}, size: ${m.size} }`);
      out.push(
        `/** struct ${d.name}: its size and each member's byte offset and size. */`,
        `export const ${d.name} = { sizeof: ${d.layout.size}, ${members.join(', ')} } as const;`,
      );
    }
  }
  return out.join('\n') + '\n';
}

/** The generated module's text for `header`, formatted as the repository formats TypeScript. */
export async function renderLayouts(header = LAYOUT_HEADER): Promise<string> {
  const options = await prettier.resolveConfig(GENERATED_LAYOUTS);
  return prettier.format(render(readLayouts(header)), { ...options, filepath: GENERATED_LAYOUTS });
}

/** Why the checked-in module does not match `header`, or undefined when it does. */
export async function staleLayouts(header = LAYOUT_HEADER, generated = GENERATED_LAYOUTS): Promise<string | undefined> {
  let current: string;
  try {
    current = readFileSync(generated, 'utf8');
  } catch {
    return `${generated} is missing: run make layouts`;
  }
  const fresh = (await renderLayouts(header)).split('\n');
  const old = current.split('\n');
  const line = fresh.findIndex((l, i) => l !== old[i]);
  if (line < 0 && fresh.length === old.length) return undefined;
  const at = line < 0 ? Math.min(fresh.length, old.length) : line;
  return `${generated} does not match ${header} (line ${at + 1} would be '${fresh[at]?.trim() ?? ''}', is '${old[at]?.trim() ?? ''}'): run make layouts`;
}

async function main(): Promise<void> {
  if (process.argv.includes('--check')) {
    const problem = await staleLayouts();
    if (problem) {
      console.error(problem);
      process.exit(1);
    }
    return;
  }
  writeFileSync(GENERATED_LAYOUTS, await renderLayouts());
  console.log(`wrote ${GENERATED_LAYOUTS}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
