import { createSocket } from 'node:dgram';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  BpfMap,
  BpfObject,
  XdpAction,
  attachXdp,
  queryXdp,
  sumPerCpuU64,
  BpfVerifierError,
  BpfNotFoundError,
  BpfBusyError,
  MapType,
  type BpfProgram,
} from '@dnsdist-ts/bpf';
import { describeBpf, uniqueName } from '../../../test/support/require-bpf.js';
import { createVethPair, type VethPair } from '../../../test/support/netns.js';
import { nonIpFrame, udp4Frame } from './frames.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}.bpf.o`, import.meta.url));
const hostOrderKey = (addr: string) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(addr.split('.').reduce((acc, o) => acc * 256 + Number(o), 0));
  return b;
};
const counter = (map: BpfMap, addr: string) => map.lookup(hostOrderKey(addr))?.readBigUInt64LE() ?? -1n;

describeBpf('BPF objects, test-run and XDP attachment', () => {
  let obj: BpfObject;
  let prog: BpfProgram;
  let blocked: BpfMap;
  const pinDir = `/sys/fs/bpf/${uniqueName('dtsx')}`;

  beforeAll(() => {
    obj = BpfObject.open(fixture('xdp-drop-src'));
    expect(
      obj
        .maps()
        .map((m) => m.name)
        .sort(),
    ).toEqual(['blocked_v4', 'verdicts']);
    obj.setMapPinPath('blocked_v4', `${pinDir}/blocked_v4`);
    obj.load();
    prog = obj.program('xdp_drop_src');
    blocked = obj.map('blocked_v4');
  });
  afterAll(() => {
    blocked?.close();
    obj?.close();
    rmSync(pinDir, { recursive: true, force: true });
  });

  it('lists programs and pins maps where asked', () => {
    expect(
      obj
        .programs()
        .map((p) => p.name)
        .sort(),
    ).toEqual(['sock_drop_src', 'xdp_drop_src']);
    expect(prog.info()).toMatchObject({ name: 'xdp_drop_src' });
    expect(blocked.pinnedPath).toBe(`${pinDir}/blocked_v4`);
    const viaPin = BpfMap.openPinned(`${pinDir}/blocked_v4`);
    expect(viaPin.info().id).toBe(blocked.info().id);
    viaPin.close();
  });

  it('testRun: PASS for unlisted sources, DROP by a map entry the test writes, counted', () => {
    const frame = udp4Frame('198.51.100.7', '192.0.2.1', 1234, 53);
    expect(prog.testRun(frame).retval).toBe(XdpAction.Pass);
    expect(prog.testRun(nonIpFrame()).retval).toBe(XdpAction.Pass);
    blocked.update(hostOrderKey('198.51.100.7'), Buffer.alloc(8));
    try {
      const r = prog.testRun(frame, 1000);
      expect(r.retval).toBe(XdpAction.Drop);
      expect(r.durationNs).toBeGreaterThanOrEqual(0);
      expect(counter(blocked, '198.51.100.7')).toBe(1000n);
      expect(prog.testRun(udp4Frame('198.51.100.8', '192.0.2.1', 1234, 53)).retval).toBe(XdpAction.Pass);
      const verdicts = obj.map('verdicts');
      const key = Buffer.alloc(4);
      key.writeUInt32LE(XdpAction.Drop);
      expect(sumPerCpuU64(verdicts.lookupPerCpu(key)!)).toBe(1000n);
      verdicts.close();
    } finally {
      blocked.delete(hostOrderKey('198.51.100.7'));
    }
  });

  it('a second object reuses the pinned map and sees the first one entries', () => {
    blocked.update(hostOrderKey('203.0.113.9'), Buffer.alloc(8));
    const second = BpfObject.open(fixture('xdp-drop-src'));
    try {
      const pinned = BpfMap.openPinned(`${pinDir}/blocked_v4`, { type: MapType.Hash, keySize: 4, valueSize: 8 });
      second.reuseMap('blocked_v4', pinned);
      pinned.close();
      second.load();
      const r = second.program('xdp_drop_src').testRun(udp4Frame('203.0.113.9', '192.0.2.1', 1, 53));
      expect(r.retval).toBe(XdpAction.Drop);
      expect(counter(blocked, '203.0.113.9')).toBe(1n);
    } finally {
      second.close();
      blocked.delete(hostOrderKey('203.0.113.9'));
    }
  });

  it('a verifier rejection is a BpfVerifierError carrying the verifier log', () => {
    const bad = BpfObject.open(fixture('xdp-rejected'));
    try {
      let err: unknown;
      try {
        bad.load();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(BpfVerifierError);
      expect((err as BpfVerifierError).log).toMatch(/invalid access to packet|R\d+ offset is outside of the packet/);
    } finally {
      bad.close();
    }
  });

  it('a missing object file or interface is a typed not-found error', () => {
    expect(() => BpfObject.open('/nonexistent/x.bpf.o')).toThrow(BpfNotFoundError);
    expect(() => attachXdp(prog, 'dts-no-such-if')).toThrow(BpfNotFoundError);
    expect(() => attachXdp(prog, 'dts-no-such-if')).toThrow(/no such interface/);
  });

  describe('on a veth pair in a network namespace', () => {
    let veth: VethPair;
    beforeAll(() => {
      veth = createVethPair(1);
    });
    afterAll(() => veth?.dispose());

    it('attaches in native mode, drops a blocked source real UDP and counts it, then detaches', async () => {
      const [blockedSrc, okSrc] = veth.peerAddrs as [string, string];
      const att = attachXdp(prog, veth.hostIf, 'native');
      try {
        expect(att.mode).toBe('native');
        expect(queryXdp(veth.hostIf)).toMatchObject({ mode: 'native', progId: prog.info().id });
        // Someone else's program is never replaced silently.
        expect(() => attachXdp(prog, veth.hostIf, 'native')).toThrow(BpfBusyError);

        blocked.update(hostOrderKey(blockedSrc), Buffer.alloc(8));
        const sock = createSocket('udp4');
        await new Promise<void>((r) => sock.bind(0, veth.hostAddr, r));
        const port = sock.address().port;
        const got = new Map<string, number>();
        const n = 50;
        const allOk = new Promise<void>((resolve) =>
          sock.on('message', (_m, rinfo) => {
            got.set(rinfo.address, (got.get(rinfo.address) ?? 0) + 1);
            if (got.get(okSrc) === n) resolve();
          }),
        );
        // The blocked source sends first; once every allowed datagram has
        // arrived, the blocked ones have long been through the program.
        const sender = `
          const d = require('node:dgram');
          const send = (src, n) => new Promise((res) => {
            const s = d.createSocket('udp4');
            s.bind(0, src, async () => {
              for (let i = 0; i < n; i++) await new Promise((r) => s.send('x' + i, ${port}, '${veth.hostAddr}', r));
              s.close(); res();
            });
          });
          (async () => { await send('${blockedSrc}', ${n}); await send('${okSrc}', ${n}); })();`;
        await veth.execInNs(process.execPath, ['-e', sender]);
        await allOk;
        sock.close();
        expect(got.get(okSrc)).toBe(n);
        expect(got.get(blockedSrc)).toBeUndefined();
        expect(counter(blocked, blockedSrc)).toBe(BigInt(n));
      } finally {
        att.detach();
        blocked.delete(hostOrderKey(blockedSrc));
      }
      expect(att.attached).toBe(false);
      expect(queryXdp(veth.hostIf).mode).toBe('none');
      att.detach();
    });

    it('generic mode is reported as such', () => {
      const att = attachXdp(prog, veth.hostIf, 'generic');
      try {
        expect(att.mode).toBe('generic');
        expect(queryXdp(veth.hostIf).genericProgId).toBe(prog.info().id);
      } finally {
        att.detach();
      }
      expect(queryXdp(veth.hostIf).mode).toBe('none');
    });
  });
});
