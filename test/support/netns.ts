/**
 * Test hosts in network namespaces: a veth pair with the host end in this
 * namespace (where the test process can attach XDP and bind sockets) and
 * the peer end in a namespace of its own. Names are unique per run and
 * dispose() removes everything, also after a failed test.
 */
import { execFileSync, spawn } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import { uniqueName } from './require-bpf.js';

export interface VethPair {
  ns: string;
  hostIf: string;
  peerIf: string;
  /** Addresses (without prefix length) on each end. */
  hostAddr: string;
  peerAddrs: string[];
  /** Run a command inside the peer namespace; resolves with its stdout. */
  execInNs(cmd: string, args: string[], input?: string): Promise<string>;
  dispose(): void;
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * A /24 in 198.18.0.0/15 (the benchmarking range) that no interface of
 * this machine uses, so test traffic can never leave through a real
 * network (this machine's own eth0 sits on TEST-NET-1, for instance).
 */
function freeSubnet(): string {
  const used = new Set(
    Object.values(networkInterfaces())
      .flat()
      .map((a) => a?.address ?? '')
      .filter((a) => a.startsWith('198.18.') || a.startsWith('198.19.'))
      .map((a) => a.split('.').slice(0, 3).join('.')),
  );
  for (let i = 0; i < 64; i++) {
    const n = Math.floor(Math.random() * 512);
    const subnet = `198.${18 + (n >> 8)}.${n & 255}`;
    if (!used.has(subnet)) return subnet;
  }
  throw new Error('no free /24 in 198.18.0.0/15 for a test network');
}

/**
 * Create a namespace and veth pair on a free /24 of 198.18.0.0/15: host end
 * .1, peer end .2 plus `extraPeerAddrs` more (.3, .4 …).
 */
export function createVethPair(extraPeerAddrs = 1): VethPair {
  const tag = uniqueName('dts');
  const ns = `${tag}ns`;
  const hostIf = `${tag}h`.slice(0, 15);
  const peerIf = `${tag}p`.slice(0, 15);
  const subnet = freeSubnet();
  const hostAddr = `${subnet}.1`;
  const peerAddrs = Array.from({ length: 1 + extraPeerAddrs }, (_, i) => `${subnet}.${i + 2}`);
  const dispose = () => {
    try {
      ip('link', 'del', hostIf);
    } catch {
      /* already gone with the namespace */
    }
    try {
      ip('netns', 'del', ns);
    } catch {
      /* already gone */
    }
  };
  try {
    ip('netns', 'add', ns);
    ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', peerIf);
    ip('link', 'set', peerIf, 'netns', ns);
    ip('addr', 'add', `${hostAddr}/24`, 'dev', hostIf);
    ip('link', 'set', hostIf, 'up');
    for (const a of peerAddrs) ip('-n', ns, 'addr', 'add', `${a}/24`, 'dev', peerIf);
    ip('-n', ns, 'link', 'set', peerIf, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
  } catch (err) {
    dispose();
    throw err;
  }
  const execInNs = (cmd: string, args: string[], input?: string) =>
    new Promise<string>((resolve, reject) => {
      const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let errText = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (errText += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} in ${ns} exited ${code}: ${errText}`))));
      // A command that never reads its input (dig) may exit first: EPIPE on stdin is not its failure.
      child.stdin.on('error', () => {});
      child.stdin.end(input ?? '');
    });
  return { ns, hostIf, peerIf, hostAddr, peerAddrs, execInNs, dispose };
}
