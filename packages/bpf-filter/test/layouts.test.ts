import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BpfObject } from '@dnsdist-ts/bpf';
import { LAYOUT_HEADER, readLayouts, staleLayouts, type Declaration } from '../../../scripts/gen-layouts.js';
import { legacy_qname_value, map_value, qname_key, xdp_stat } from '../src/generated/layouts.js';
import { MapFormat, mapLayout, type FilterMapKind } from '../src/map-format.js';

const SOCKET_FILTER_OBJECT = fileURLToPath(new URL('../bpf/socket-filter.bpf.o', import.meta.url));

function find<K extends Declaration['kind']>(decls: Declaration[], kind: K, name: string): Extract<Declaration, { kind: K }> {
  const d = decls.find((x) => x.kind === kind && x.name === name);
  if (!d) throw new Error(`no ${kind} ${name}`);
  return d as Extract<Declaration, { kind: K }>;
}

describe('map layouts: TypeScript generated from bpf/dnsdist-maps.h', () => {
  it('the checked-in generated module matches the header (else: run make layouts)', async () => {
    expect(await staleLayouts()).toBeUndefined();
  });

  it('carries the header byte for byte: structs, enums and 64-bit constants', () => {
    expect(map_value).toEqual({ sizeof: 16, counter: { offset: 0, size: 8 }, action: { offset: 8, size: 1 }, pad: { offset: 9, size: 7 } });
    expect(qname_key.sizeof).toBe(258);
    expect(qname_key.qtype).toEqual({ offset: 256, size: 2 });
    expect(legacy_qname_value).toEqual({ sizeof: 16, counter: { offset: 0, size: 8 }, qtype: { offset: 8, size: 2 } });
    expect(xdp_stat.STAT_MAX).toBe(19);
    const fpK0 = find(readLayouts(), 'macro', 'FP_K0');
    expect(fpK0).toEqual({ kind: 'macro', name: 'FP_K0', value: 0x9e3779b97f4a7c15n, bytes: 8 });
  });

  describe('a change to the header makes the check fail', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dts-layouts-test-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const original = readFileSync(LAYOUT_HEADER, 'utf8');
    let n = 0;
    const changed = (from: string, to: string): string => {
      expect(original.split(from)).toHaveLength(2); // the edit applies exactly once
      const path = join(dir, `dnsdist-maps-${n++}.h`);
      writeFileSync(path, original.replace(from, to));
      return path;
    };

    it('a member whose type changes (map_value.action: __u8 -> __u16)', async () => {
      const header = changed(
        'struct map_value {\n\t__u64 counter;\n\t__u8 action;',
        'struct map_value {\n\t__u64 counter;\n\t__u16 action;',
      );
      const v = find(readLayouts(header), 'struct', 'map_value').layout;
      expect(Object.fromEntries(v.members)).toEqual({
        counter: { offset: 0, size: 8 },
        action: { offset: 8, size: 2 },
        pad: { offset: 10, size: 7 },
      });
      expect(await staleLayouts(header)).toMatch(/does not match .*: run make layouts$/);
    });

    it('a verdict counter inserted into enum xdp_stat', async () => {
      const header = changed('\tSTAT_DROP_TCP_SYN,', '\tSTAT_DROP_TCP_RST,\n\tSTAT_DROP_TCP_SYN,');
      const e = find(readLayouts(header), 'enum', 'xdp_stat');
      expect(Object.fromEntries(e.values)).toMatchObject({ STAT_DROP_TCP_RST: 11, STAT_DROP_TCP_SYN: 12, STAT_MAX: 20 });
      expect(await staleLayouts(header)).toMatch(/run make layouts$/);
    });

    it('a fingerprint constant', async () => {
      const header = changed('#define FP_K1 0xc2b2ae3d27d4eb4fULL', '#define FP_K1 0xc2b2ae3d27d4eb4eULL');
      expect(find(readLayouts(header), 'macro', 'FP_K1').value).toBe(0xc2b2ae3d27d4eb4en);
      expect(await staleLayouts(header)).toMatch(/run make layouts$/);
    });
  });

  it("the socket filter's object declares its maps with the legacy layouts", () => {
    const obj = BpfObject.open(SOCKET_FILTER_OBJECT);
    try {
      const byName = new Map(obj.maps().map((m) => [m.name, m]));
      for (const [name, kind] of [
        ['v4', 'ipv4'],
        ['v6', 'ipv6'],
        ['qnames', 'qnames'],
      ] as Array<[string, FilterMapKind]>) {
        const m = byName.get(name)!;
        expect({ name, type: m.type, keySize: m.keySize, valueSize: m.valueSize, flags: m.flags }).toEqual({
          name,
          ...mapLayout(MapFormat.Legacy, kind),
        });
      }
    } finally {
      obj.close();
    }
  });
});
