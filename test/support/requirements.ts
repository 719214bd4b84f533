/**
 * The machine's tools that tests need, each a {@link Requirement} with its
 * probe and the Debian package that provides it (scripts/bootstrap.sh
 * installs every one of them). The kernel's BPF is in require-bpf.ts.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { requirement, type Requirement, type RequirementScope } from './require.js';

/** The absolute path `name` resolves to through PATH (as execFile would find it), or undefined. */
export function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

const packages = new Set<string>();
/** The Debian packages that provide this catalogue's tools (scripts/bootstrap.sh must install each). */
export function debianPackagesNeeded(): string[] {
  return [...packages].sort();
}

/** A program found through PATH; `pkg` is the Debian package that provides it. */
export function command(name: string, pkg: string, scope: RequirementScope = 'tool'): Requirement {
  packages.add(pkg);
  return requirement(name, scope, () =>
    onPath(name) ? undefined : `${name} is not on PATH (apt-get install ${pkg}; scripts/bootstrap.sh installs it)`,
  );
}

/** libxdp's loader, for loading the XDP filter the xdp-tools way. */
export const xdpLoader = command('xdp-loader', 'xdp-tools', 'bpf');
/** The C++ compiler, for replaying libstdc++'s sorts. */
export const gxx = command('g++', 'g++');
packages.add('dnsdist');
/** Debian's dnsdist 1.7.3, the interop and parity peer: on PATH and saying its version. */
export const dnsdist = requirement('dnsdist', 'tool', () => {
  if (!onPath('dnsdist')) return 'dnsdist is not on PATH (apt-get install dnsdist; scripts/bootstrap.sh installs it)';
  const r = spawnSync('dnsdist', ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return /dnsdist \S+/.test(r.stdout ?? '')
    ? undefined
    : `dnsdist --version did not say its version: ${(r.error?.message ?? r.stderr ?? '').trim()}`;
});
// Tests and benchmarks run these unguarded (a missing one fails loudly); listed so bootstrap is checked for them.
export const dig = command('dig', 'bind9-dnsutils');
export const kdig = command('kdig', 'knot-dnsutils');
/** Certificates per test run, OCSP requests, s_client for stapling and resumption. */
export const opensslCli = command('openssl', 'openssl');
export const dnsperf = command('dnsperf', 'dnsperf');
export const bpftool = command('bpftool', 'bpftool', 'bpf');
export const promtool = command('promtool', 'prometheus');
/** Redis, for fleet-wide dynamic blocks (setDynBlocksSync): the server and its CLI. */
export const redisServer = command('redis-server', 'redis-server');
export const redisCli = command('redis-cli', 'redis-tools');
/** CrowdSec's Local API and its CLI, for the bouncer (setCrowdSecBouncer); scripts/bootstrap.sh installs them offline. */
export const crowdsec = command('crowdsec', 'crowdsec');
export const cscli = command('cscli', 'crowdsec');
/** Checks the systemd unit in packaging/systemd (test/packaging/systemd-unit.test.ts). */
export const systemdAnalyze = command('systemd-analyze', 'systemd');
/** Receives sd_notify datagrams in the readiness test (node cannot bind AF_UNIX datagram sockets). */
export const python3 = command('python3', 'python3');

packages.add('util-linux').add('iproute2');
/**
 * A network namespace of our own whose loopback takes a token-bucket
 * qdisc: root, unshare (util-linux), ip and tc (iproute2) and the kernel's
 * sch_tbf. Probed by doing exactly that in a throwaway namespace.
 */
export const loopbackShaping = requirement('a rate-limited loopback (unshare -n, tc qdisc tbf)', 'bpf', () => {
  if (process.getuid?.() !== 0) return 'not running as root';
  for (const [name, pkg] of [
    ['ip', 'iproute2'],
    ['tc', 'iproute2'],
  ] as const) {
    if (!onPath(name)) return `${name} is not on PATH (apt-get install ${pkg}; scripts/bootstrap.sh installs it)`;
  }
  // The test runs /usr/bin/unshare by that path (Debian's util-linux).
  const r = spawnSync(
    '/usr/bin/unshare',
    ['-n', '--', 'sh', '-c', 'ip link set lo up && tc qdisc add dev lo root tbf rate 1mbit burst 1600 limit 1000000'],
    { encoding: 'utf8', timeout: 10_000 },
  );
  if (r.error) return `/usr/bin/unshare could not run (apt-get install util-linux): ${r.error.message}`;
  if (r.status !== 0) return `shaping a private loopback failed (exit ${r.status}): ${r.stderr.trim()}`;
  return undefined;
});
