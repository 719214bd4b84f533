#!/usr/bin/env node
/**
 * xdp-filter: attach the dnsdist-ts XDP filter to interfaces and manage the
 * entries of the maps it reads. Run `xdp-filter help` for the commands.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BpfError, BpfMap, BpfProgram, XdpAttachment, queryXdp, interfaceIndex, type XdpAttachedMode } from '@dnsdist-ts/bpf';
import { MatchAction, matchActionName, type NameIndexRegionState, type NameIndexState } from '@dnsdist-ts/bpf-filter';
import { parseQType, qtypeName } from '@dnsdist-ts/dns';
import { DEFAULT_PIN_DIR } from './filter-maps.js';
import { openPinnedFilter } from './pinned-filter.js';
import { XDP_FILTER_OBJECT, XdpFilter } from './xdp-filter.js';
import { XdpFilterError } from './xdp-filter-error.js';
import { nameIndexState, parseNameIndexMode, syncNameIndex, type NameIndexMode } from './name-index-sync.js';
import { checkIndexGuardOptions, type IndexGuardOptions } from './index-guard.js';
import { NameIndexMaintainer } from './name-index-maintainer.js';
import { pinLibxdpAliases } from './libxdp-pins.js';
import { readXdpStats, type XdpStatName } from './xdp-stats.js';

const USAGE = `usage:
  xdp-filter attach --iface IF [--mode native|generic|auto] [--ports 53,5300] [--pin-dir DIR]
                    [--name-index auto|trusted|off] [--maintain [--period-ms 20] [--fresh-ms 60]]
  xdp-filter maintain [--pin-dir DIR] [--period-ms 20] [--fresh-ms 60]
  xdp-filter detach --iface IF
  xdp-filter status --iface IF [--pin-dir DIR] [--json]
  xdp-filter list [--pin-dir DIR] [--json]
  xdp-filter block [--pin-dir DIR] --action drop|tc (--addr IP | --range CIDR | --name NAME [--qtype T] | --suffix NAME)
  xdp-filter unblock [--pin-dir DIR] (--addr IP | --range CIDR | --name NAME [--qtype T] | --suffix NAME)
  xdp-filter reindex [--pin-dir DIR] [--name-index auto|trusted|off]
  xdp-filter libxdp-pins [--pin-dir DIR]
default pin directory: ${DEFAULT_PIN_DIR}
name index: 'auto' (default) uses it only while an index guard runs ('maintain', 'attach
--maintain' or the dnsdist-ts proxy), whoever writes the maps; 'trusted' uses it always and
assumes every writer is dnsdist-ts; 'off' looks every name up.`;

/** A usage or input error: printed with the usage, exit status 2. */
class UsageError extends Error {}

const STATE_DIR = '/run/dnsdist-ts';
const PROGRAM_NAME = 'xdp_dns_filter';

interface Options {
  iface?: string;
  mode?: string;
  ports?: string;
  'pin-dir'?: string;
  json?: boolean;
  action?: string;
  addr?: string;
  range?: string;
  name?: string;
  qtype?: string;
  suffix?: string;
  'name-index'?: string;
  maintain?: boolean;
  'period-ms'?: string;
  'fresh-ms'?: string;
}

function parse(argv: string[]): { cmd: string; o: Options } {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      iface: { type: 'string' },
      mode: { type: 'string' },
      ports: { type: 'string' },
      'pin-dir': { type: 'string' },
      json: { type: 'boolean' },
      action: { type: 'string' },
      addr: { type: 'string' },
      range: { type: 'string' },
      name: { type: 'string' },
      qtype: { type: 'string' },
      suffix: { type: 'string' },
      'name-index': { type: 'string' },
      maintain: { type: 'boolean' },
      'period-ms': { type: 'string' },
      'fresh-ms': { type: 'string' },
    },
  });
  if (positionals.length !== 1)
    throw new UsageError(positionals.length ? `unexpected arguments: ${positionals.slice(1).join(' ')}` : 'missing command');
  return { cmd: positionals[0]!, o: values as Options };
}

function need(o: Options, key: 'iface'): string {
  const v = o[key];
  if (!v) throw new UsageError(`--${key} is required`);
  return v;
}

function statePath(iface: string): string {
  return join(STATE_DIR, `xdp-filter-${iface}.json`);
}

function attachedProgram(iface: string): { id: number; mode: string } | undefined {
  const q = queryXdp(iface);
  if (q.mode === 'none') return undefined;
  return { id: q.progId, mode: q.mode };
}

function isOurs(id: number): boolean {
  const p = BpfProgram.fromId(id);
  try {
    return p.info().name === PROGRAM_NAME;
  } finally {
    p.close();
  }
}

function attach(o: Options): string {
  const iface = need(o, 'iface');
  const mode = o.mode ?? 'auto';
  if (mode !== 'native' && mode !== 'generic' && mode !== 'auto')
    throw new UsageError(`--mode must be native, generic or auto, got '${mode}'`);
  const ports = (o.ports ?? '53').split(',').map((p) => {
    const n = Number(p);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UsageError(`--ports: '${p}' is not a port number`);
    return n;
  });
  const nameIndex = nameIndexMode(o, 'auto');
  interfaceIndex(iface);
  const existing = attachedProgram(iface);
  if (existing) {
    throw new XdpFilterError(
      `${iface} already has an XDP program attached (id ${existing.id}, ${existing.mode}${isOurs(existing.id) ? ', the xdp-filter' : ''}): run 'xdp-filter detach --iface ${iface}' first`,
      iface,
    );
  }
  const pinDir = o['pin-dir'] ?? DEFAULT_PIN_DIR;
  const f = XdpFilter.load({ pinDir, ports, nameIndex });
  try {
    const att = f.attach(iface, mode);
    mkdirSync(STATE_DIR, { recursive: true });
    writeFileSync(statePath(iface), JSON.stringify({ pinDir, ports, mode: att.mode, progId: att.progId, nameIndex }));
    return `attached to ${iface} in ${att.mode} mode (program id ${att.progId}), DNS ports ${ports.join(',')}, maps in ${pinDir}, name index: ${describeIndex(f.nameIndex)}`;
  } finally {
    // The kernel keeps the attached program; our handles can go.
    f.close();
  }
}

function nameIndexMode(o: Options, dflt: NameIndexMode): NameIndexMode {
  const given = o['name-index'] ?? dflt;
  const m = parseNameIndexMode(given);
  if (!m) throw new UsageError(`--name-index must be auto, trusted or off, got '${given}'`);
  return m;
}

function guardOptions(o: Options): IndexGuardOptions {
  const ms = (flag: 'period-ms' | 'fresh-ms'): number | undefined => {
    const v = o[flag];
    if (v === undefined) return undefined;
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${flag}: '${v}' is not a number of milliseconds`);
    return n;
  };
  const opts: IndexGuardOptions = {};
  const period = ms('period-ms');
  const fresh = ms('fresh-ms');
  if (period !== undefined) opts.periodMs = period;
  if (fresh !== undefined) opts.freshMs = fresh;
  try {
    checkIndexGuardOptions(opts);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return opts;
}

/** What a part's mode assumes, for status. */
const ASSUMES: Record<NameIndexRegionState['mode'], string> = {
  guarded: 'nothing: used only while an index guard has recently marked every entry, whoever wrote it',
  trusted: 'every writer of the map is dnsdist-ts (or reindex runs after any other writer): entries others write are not matched',
  off: 'nothing: every name is looked up',
};

function describePart(p: NameIndexRegionState): string {
  if (p.mode === 'off') return 'off (looked up)';
  if (p.mode === 'trusted') return 'trusted (in use)';
  if (p.inUse) return `guarded, in use (vouched ${p.vouchedMsAgo!.toFixed(0)} ms ago)`;
  if (p.vouchedMsAgo === undefined) return 'guarded, not in use: no index guard has vouched for it (looked up)';
  return `guarded, not in use: last vouched ${(p.vouchedMsAgo / 1000).toFixed(1)} s ago (looked up)`;
}

function describeIndex(st: NameIndexState | undefined): string {
  if (!st) return 'none';
  return `names ${describePart(st.qnames)}; suffixes ${describePart(st.suffixes)}`;
}

function reindex(o: Options): string {
  const pinDir = o['pin-dir'] ?? DEFAULT_PIN_DIR;
  const st = syncNameIndex(pinDir, nameIndexMode(o, 'auto'));
  return `name index in ${pinDir}: ${describeIndex(st)}`;
}

/**
 * Keep an index guard running on the maps in the pin directory until
 * SIGTERM/SIGINT: the process the default name-index mode relies on when
 * no dnsdist-ts proxy runs next to the filter.
 */
async function maintain(o: Options, pinDir = o['pin-dir'] ?? DEFAULT_PIN_DIR): Promise<string> {
  const opts = guardOptions(o);
  const m = new NameIndexMaintainer(
    { info: (line) => process.stdout.write(`${line}\n`), warn: (line) => process.stderr.write(`xdp-filter: ${line}\n`) },
    opts,
  );
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => m.keep([pinDir]), 1000);
    const end = () => {
      clearInterval(timer);
      m.close();
      resolve();
    };
    process.once('SIGTERM', end);
    process.once('SIGINT', end);
    m.keep([pinDir]);
  });
  return `stopped maintaining the name index in ${pinDir}`;
}

async function attachCommand(o: Options): Promise<string> {
  if (!o.maintain) {
    if (o['period-ms'] !== undefined || o['fresh-ms'] !== undefined) throw new UsageError('--period-ms and --fresh-ms go with --maintain');
    return attach(o);
  }
  guardOptions(o); // refuse bad options before attaching
  process.stdout.write(`${attach(o)}\n`);
  return maintain(o);
}

function libxdpPins(o: Options): string {
  const pinDir = o['pin-dir'] ?? DEFAULT_PIN_DIR;
  const pinned = pinLibxdpAliases(pinDir);
  return [
    `pinned for libxdp (by the program's map names) in ${pinDir}: ${pinned.join(', ')}`,
    `load with: xdp-loader load -m native -p ${pinDir} IF ${XDP_FILTER_OBJECT}`,
  ].join('\n');
}

function detach(o: Options): string {
  const iface = need(o, 'iface');
  const cur = attachedProgram(iface);
  if (!cur) throw new XdpFilterError(`no XDP program is attached to ${iface}`, iface);
  if (!isOurs(cur.id))
    throw new XdpFilterError(`the XDP program on ${iface} (id ${cur.id}) is not the xdp-filter: not detaching it`, iface);
  const prog = BpfProgram.fromId(cur.id);
  try {
    // Detach exactly that program (XDP_FLAGS_REPLACE with its fd), in the mode it runs in.
    new XdpAttachment(interfaceIndex(iface), iface, cur.mode as XdpAttachedMode, cur.id, prog.fd).detach();
  } finally {
    prog.close();
  }
  rmSync(statePath(iface), { force: true });
  return `detached from ${iface}`;
}

function readStats(pinDir: string): Record<XdpStatName, string> | undefined {
  let m: BpfMap;
  try {
    m = BpfMap.openPinned(join(pinDir, 'xdp-stats'));
  } catch {
    return undefined; // not attached yet: no totals to show
  }
  try {
    return Object.fromEntries(Object.entries(readXdpStats(m)).map(([k, v]) => [k, v.toString()])) as Record<XdpStatName, string>;
  } finally {
    m.close();
  }
}

function status(o: Options): string {
  const iface = need(o, 'iface');
  const cur = attachedProgram(iface);
  let state: { pinDir?: string; ports?: number[] } = {};
  try {
    state = JSON.parse(readFileSync(statePath(iface), 'utf8')) as typeof state;
  } catch {
    /* attached by someone else, or not at all */
  }
  const pinDir = o['pin-dir'] ?? state.pinDir ?? DEFAULT_PIN_DIR;
  const ours = cur ? isOurs(cur.id) : false;
  const totals = readStats(pinDir);
  let index: NameIndexState | undefined;
  let indexProblem: string | undefined;
  try {
    index = nameIndexState(pinDir);
  } catch (err) {
    indexProblem = (err as Error).message; // status still shows the rest
  }
  const withAssumption = (p: NameIndexRegionState) => ({ ...p, assumes: ASSUMES[p.mode] });
  const result = {
    interface: iface,
    attached: !!cur,
    mode: cur?.mode ?? 'none',
    programId: cur?.id ?? 0,
    xdpFilter: ours,
    ports: state.ports ?? null,
    pinDir,
    nameIndex: index
      ? { ...index, qnames: withAssumption(index.qnames), suffixes: withAssumption(index.suffixes) }
      : indexProblem
        ? { error: indexProblem }
        : null,
    totals: totals ?? null,
  };
  if (o.json) return JSON.stringify(result, null, 2);
  const lines = [
    `interface: ${iface}`,
    `attached:  ${cur ? `${cur.mode} mode, program id ${cur.id}${ours ? ' (xdp-filter)' : ' (another program)'}` : 'no'}`,
    `ports:     ${state.ports ? state.ports.join(',') : 'unknown'}`,
    `maps:      ${pinDir}`,
  ];
  if (indexProblem || !index) {
    lines.push(`index:     ${indexProblem ?? 'none'}`);
  } else {
    const g = index.guard;
    lines.push(
      `index:     ${index.slots} slots per part`,
      `  names:     ${describePart(index.qnames)}`,
      `             assumes ${ASSUMES[index.qnames.mode]}`,
      `  suffixes:  ${describePart(index.suffixes)}`,
      `             assumes ${ASSUMES[index.suffixes.mode]}`,
      g.freshMs > 0
        ? `  guard:     a scan every ${g.periodMs} ms, each vouching for ${g.freshMs} ms; last scan ${g.scanUs.toFixed(0)} µs, ${g.qnameEntries} names, ${g.suffixEntries} suffixes${g.unverifiedSuffixes ? `, ${g.unverifiedSuffixes} suffix entries that do not name their key (suffixes not vouched for)` : ''}`
        : '  guard:     none has run on this index',
    );
  }
  if (totals) for (const [k, v] of Object.entries(totals)) lines.push(`  ${k.padEnd(22)} ${v}`);
  return lines.join('\n');
}

function list(o: Options): string {
  const { filter, suffixes } = openPinnedFilter(o['pin-dir'] ?? DEFAULT_PIN_DIR);
  try {
    const rows = [
      ...filter.entries().map((e) => {
        const what = 'address' in e ? e.address : 'range' in e ? e.range : `${e.name} ${qtypeName(e.qtype)}`;
        return { kind: e.kind, entry: what, action: matchActionName(e.action), hits: e.counter.toString() };
      }),
      ...suffixes.entries().map((e) => ({ kind: 'suffix', entry: e.name, action: matchActionName(e.action), hits: e.counter.toString() })),
    ];
    if (o.json) return JSON.stringify(rows, null, 2);
    if (rows.length === 0) return 'no entries';
    return rows.map((r) => `${r.kind.padEnd(6)} ${r.entry.padEnd(40)} ${r.action.padEnd(8)} ${r.hits}`).join('\n');
  } finally {
    filter.close();
    suffixes.close();
  }
}

function target(o: Options): { kind: 'addr' | 'range' | 'name' | 'suffix'; value: string } {
  const given = (['addr', 'range', 'name', 'suffix'] as const).filter((k) => o[k] !== undefined);
  if (given.length !== 1) throw new UsageError('give exactly one of --addr, --range, --name, --suffix');
  if (o.qtype !== undefined && given[0] !== 'name') throw new UsageError('--qtype goes with --name');
  return { kind: given[0]!, value: o[given[0]!]! };
}

function qtypeOf(o: Options): number {
  if (o.qtype === undefined) return 255;
  const t = parseQType(o.qtype);
  if (t === undefined) throw new UsageError(`--qtype: unknown type '${o.qtype}'`);
  return t;
}

function block(o: Options): string {
  const t = target(o);
  const action = o.action === 'drop' ? MatchAction.Drop : o.action === 'tc' ? MatchAction.Truncate : undefined;
  if (action === undefined) throw new UsageError('--action must be drop or tc');
  const { filter, suffixes } = openPinnedFilter(o['pin-dir'] ?? DEFAULT_PIN_DIR);
  try {
    if (t.kind === 'addr') filter.block(t.value, action);
    else if (t.kind === 'range') filter.addRangeRule(t.value, action, true);
    else if (t.kind === 'name') filter.blockQName(t.value, qtypeOf(o), action);
    else suffixes.block(t.value, action);
    return `blocked ${t.kind} ${t.value}${t.kind === 'name' ? ` ${qtypeName(qtypeOf(o))}` : ''}: ${matchActionName(action)}`;
  } finally {
    filter.close();
    suffixes.close();
  }
}

function unblock(o: Options): string {
  const t = target(o);
  const { filter, suffixes } = openPinnedFilter(o['pin-dir'] ?? DEFAULT_PIN_DIR);
  try {
    if (t.kind === 'addr') filter.unblock(t.value);
    else if (t.kind === 'range') filter.rmRangeRule(t.value);
    else if (t.kind === 'name') filter.unblockQName(t.value, qtypeOf(o));
    else if (!suffixes.unblock(t.value)) throw new XdpFilterError(`suffix ${t.value} is not blocked`, t.value);
    return `unblocked ${t.kind} ${t.value}`;
  } finally {
    filter.close();
    suffixes.close();
  }
}

const COMMANDS: Record<string, (o: Options) => string | Promise<string>> = {
  attach: attachCommand,
  maintain: (o) => maintain(o),
  detach,
  status,
  list,
  block,
  unblock,
  reindex,
  'libxdp-pins': libxdpPins,
};

export async function main(argv: string[]): Promise<number> {
  try {
    // --help and -h as most commands take them (an installed tool gets asked this way first).
    const { cmd, o } = argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h') ? { cmd: 'help', o: {} } : parse(argv);
    if (cmd === 'help') {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    const run = COMMANDS[cmd];
    if (!run) throw new UsageError(`unknown command '${cmd}'`);
    process.stdout.write(`${await run(o)}\n`);
    return 0;
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`xdp-filter: ${(err as Error).message}\n${USAGE}\n`);
      return 2;
    }
    if (err instanceof BpfError || err instanceof XdpFilterError || err instanceof Error) {
      process.stderr.write(`xdp-filter: ${(err as Error).message}\n`);
      return 1;
    }
    throw err;
  }
}

process.exitCode = await main(process.argv.slice(2));
