/**
 * -u/-g: names resolved before start-up (an unknown one binds nothing), the
 * switch made once listeners and BPF objects are set up, and the capabilities
 * the supervisor grants (the systemd unit's AmbientCapabilities) kept.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeBpf } from '../../../../test/support/require-bpf.js';
import {
  CAPABILITIES,
  PrivilegeError,
  capabilitiesToKeep,
  capabilityNames,
  capabilitySet,
  resolveIdentity,
  type AccountLookup,
} from '../../src/cli/privileges.js';
import { freePort, startDemo } from '../support/proxy-harness.js';
import { udpQuery, waitFor } from '../support/dns-client.js';
import { CLI, exited, runCli } from './cli-process.js';

const UNIT = join(dirname(fileURLToPath(import.meta.url)), '../../../../packaging/systemd/dnsdist-ts.service');

/** An in-memory account database, for the pure resolution logic. */
const inMemoryLookup: AccountLookup = {
  user: (name) => (name === 'svc' ? { uid: 999, gid: 998 } : null),
  group: (name) => (name === 'svcgrp' ? 997 : null),
};

const bit = (name: string): bigint => 1n << BigInt(CAPABILITIES[name]!);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dts-priv-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('-u/-g resolution and the capabilities kept', () => {
  it('resolves names and numbers, and names the option, value and remedy for an unknown one', () => {
    expect(resolveIdentity('svc', 'svcgrp', inMemoryLookup)).toEqual({ uid: 999, gid: 997 });
    expect(resolveIdentity('0', undefined, inMemoryLookup)).toEqual({ uid: 0, gid: undefined });
    expect(() => resolveIdentity('ghost', undefined, inMemoryLookup)).toThrow(
      "-u ghost: no user named 'ghost' on this system (create it, e.g. 'useradd --system --no-create-home ghost', or give a numeric id)",
    );
    let err: unknown;
    try {
      resolveIdentity('svc', 'ghosts', inMemoryLookup);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PrivilegeError);
    expect(err).toMatchObject({ option: '-g', value: 'ghosts' });
    expect(() => resolveIdentity('4294967295', undefined, inMemoryLookup)).toThrow(
      /^-u 4294967295: a numeric id must be at most 4294967294$/,
    );
  });

  it('keeps the ambient set less CAP_SETUID and CAP_SETGID', () => {
    const status = 'Name:\tx\nCapInh:\t0000000000000000\nCapAmb:\t000000c0000014c0\n';
    const ambient = capabilitySet(status, 'CapAmb');
    expect(capabilityNames(ambient)).toEqual([
      'CAP_SETGID',
      'CAP_SETUID',
      'CAP_NET_BIND_SERVICE',
      'CAP_NET_ADMIN',
      'CAP_PERFMON',
      'CAP_BPF',
    ]);
    expect(capabilityNames(capabilitiesToKeep(ambient))).toEqual(['CAP_NET_BIND_SERVICE', 'CAP_NET_ADMIN', 'CAP_PERFMON', 'CAP_BPF']);
    expect(capabilitiesToKeep(0n)).toBe(0n);
  });

  it('an unknown user stops start-up before anything is bound, and fails --check-config', async () => {
    const port = await freePort();
    const conf = join(dir, 'ghost.conf');
    writeFileSync(conf, `setLocal("127.0.0.1:${port}")\n`);
    const run = runCli(['--supervised', '-C', conf, '-u', 'no-such-user-dts']);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^Fatal error: -u no-such-user-dts: no user named 'no-such-user-dts' on this system/);
    expect(run.stdout).not.toMatch(/Listening on/);
    const check = runCli(['--check-config', '-C', conf, '-g', 'no-such-group-dts']);
    expect(check.status).toBe(1);
    expect(check.stdout).toMatch(/^Fatal error: -g no-such-group-dts: no group named 'no-such-group-dts' on this system/);
  });
});

/** The unit's value for `key`, as setpriv's capability list ("+net_bind_service,+bpf"). */
function unitCaps(key: 'AmbientCapabilities' | 'CapabilityBoundingSet'): string {
  const line = readFileSync(UNIT, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${key}=`))!;
  return line
    .slice(key.length + 1)
    .split(' ')
    .map((c) => `+${c.replace(/^CAP_/, '').toLowerCase()}`)
    .join(',');
}

describeBpf('-u/-g under the systemd unit’s capabilities', () => {
  it('switches to nobody:nogroup after binding and loading BPF, keeps the ambient capabilities, and its dynamic blocks still reach the kernel', async () => {
    const nobody = spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout.trim();
    const nogroup = spawnSync('getent', ['group', 'nogroup'], { encoding: 'utf8' }).stdout.split(':')[2];
    const backend = await startDemo();
    const port = await freePort();
    const ctl = await freePort();
    const key = 'MXNeLFWHUe4363BBKrY06cAsH8NWNb+Se2eXU5+Bb74=';
    const conf = join(dir, 'unit.conf');
    writeFileSync(
      conf,
      `setLocal("127.0.0.1:${port}")\nnewServer{address="127.0.0.1:${backend.port}"}\ncontrolSocket("127.0.0.1:${ctl}")\nsetKey("${key}")\n` +
        'bpf = newBPFFilter(16, 16, 16)\nsetDefaultBPFFilter(bpf)\n',
    );
    const ambient = unitCaps('AmbientCapabilities');
    // What systemd does for the unit: bounding set, inheritable and ambient capabilities, then exec as root.
    const child = spawn(
      'setpriv',
      [
        `--bounding-set=-all,${unitCaps('CapabilityBoundingSet')}`,
        `--inh-caps=-all,${ambient}`,
        `--ambient-caps=-all,${ambient}`,
        '--',
        process.execPath,
        CLI,
        '--supervised',
        '-C',
        conf,
        '-u',
        'nobody',
        '-g',
        'nogroup',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      // The switch follows start(); the console answering an -e proves start-up is over.
      await waitFor('dnsdist-ts to accept console connections', () => out.includes('Accepting control connections'), 15_000);
      let status = '';
      await waitFor('the switch to nobody', () => {
        status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        return new RegExp(`^Uid:\\t${nobody}\\t`, 'm').test(status);
      });
      expect(status).toMatch(new RegExp(`^Uid:\\t${nobody}\\t${nobody}\\t${nobody}\\t${nobody}$`, 'm'));
      expect(status).toMatch(new RegExp(`^Gid:\\t${nogroup}\\t${nogroup}\\t${nogroup}\\t${nogroup}$`, 'm'));
      expect(status).toMatch(/^Groups:\s*$/m);
      const expected = ['CAP_NET_BIND_SERVICE', 'CAP_NET_ADMIN', 'CAP_PERFMON', 'CAP_BPF'];
      expect(capabilityNames(capabilitySet(status, 'CapEff'))).toEqual(expected);
      expect(capabilitySet(status, 'CapEff') & (bit('CAP_SETUID') | bit('CAP_SETGID') | bit('CAP_SYS_ADMIN'))).toBe(0n);

      expect((await udpQuery(port, 'www.example.test.', { timeoutMs: 3000 }))?.rcode).toBe('NOERROR');
      const block = runCli(['-C', conf, '-e', 'bpf:blockQName(newDNSName("www.example.test."), 255)']);
      expect(block.stderr).toBe('');
      expect(await udpQuery(port, 'www.example.test.', { timeoutMs: 1000 })).toBeUndefined();
    } finally {
      child.kill('SIGTERM');
      await exited(child);
      await backend.close();
    }
  });
});
