/**
 * -u/-g: names resolved before start-up (an unknown one binds nothing), the
 * switch made once listeners and BPF objects are set up, and the capabilities
 * the supervisor grants (the systemd unit's AmbientCapabilities) kept.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

describeBpf('-u with data-plane workers', () => {
  it('a worker restarted after the switch to nobody takes the sockets its predecessor bound on port 53, and answers', async () => {
    const conf = join(dir, 'workers.conf');
    const key = 'MXNeLFWHUe4363BBKrY06cAsH8NWNb+Se2eXU5+Bb74=';
    // Port 53 in a network namespace of the test's own, so nothing else can hold it; answered by a rule, no backend.
    writeFileSync(
      conf,
      `setLocal("127.0.0.1:53")\ncontrolSocket("127.0.0.1:5199")\nsetKey("${key}")\naddAction(AllRule(), SpoofAction("192.0.2.53"))\n`,
    );
    // A worker started again runs the configuration again, as the user it runs as: readable by nogroup, as Debian's
    // /etc/dnsdist/dnsdist.conf (0640 root:_dnsdist) is by -g _dnsdist.
    const nogroup = Number(spawnSync('getent', ['group', 'nogroup'], { encoding: 'utf8' }).stdout.split(':')[2]);
    chmodSync(dir, 0o750);
    chownSync(dir, 0, nogroup);
    chmodSync(conf, 0o640);
    chownSync(conf, 0, nogroup);
    const args = [process.execPath, CLI, '--supervised', '-C', conf, '--workers', '2', '-u', 'nobody', '-g', 'nogroup'];
    const child = spawn('unshare', ['--net', '--', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const inNs = (cmd: string[]) =>
      spawnSync('nsenter', [`--net=/proc/${child.pid}/ns/net`, '--', ...cmd], { encoding: 'utf8', timeout: 10_000 });
    const consoleCommand = (cmd: string) => inNs([process.execPath, CLI, '-C', conf, '-e', cmd]).stdout;
    const dig = (sport: number) =>
      inNs([
        'dig',
        '+short',
        '+time=2',
        '+tries=1',
        '-b',
        `127.0.0.1#${sport}`,
        '@127.0.0.1',
        '-p',
        '53',
        'www.example.test.',
        'A',
      ]).stdout.trim();
    try {
      await waitFor('dnsdist-ts to accept console connections', () => out.includes('Accepting control connections'), 20_000);
      await waitFor('the switch to nobody', () => /^Uid:\t(\d+)\t/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] !== '0');
      expect(dig(20001)).toBe('192.0.2.53');
      expect(consoleCommand('restartWorker(1)')).toBe('');
      await waitFor('worker 1 to restart', () => /restarted \(thread/.test(out) || /failed to restart/.test(out), 20_000);
      // Binding again as nobody is what the kernel refuses (EADDRINUSE: the SO_REUSEPORT group is root's).
      expect(out).not.toMatch(/failed to restart/);
      expect(consoleCommand('showWorkers()')).toMatch(/^1\s+\d+\s+running\s+1\s/m);
      // Sixteen source ports: the kernel's SO_REUSEPORT hash sends some to each worker's socket, the restarted one's too.
      for (let i = 0; i < 16; i++) expect(dig(20010 + i)).toBe('192.0.2.53');
    } finally {
      child.kill('SIGTERM');
      await exited(child);
    }
  }, 60_000);
});
