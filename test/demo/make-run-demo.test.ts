/**
 * `make run` and `make demo-attack` as a newcomer runs them (scripts/run-demo.sh
 * on conf/dnsdist.conf, scripts/demo-attack.sh), each run in a network and
 * mount namespace of its own: its own loopback for the XDP filter, its own
 * bpffs (or none), so the host's loopback and pins are never touched.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeRequires } from '../support/require.js';
import { makeTraversable } from '../support/traversable.js';
import { bpf } from '../support/require-bpf.js';
import { dig, dnsperf } from '../support/requirements.js';
import { startInPrivateNamespaces, type PrivateNamespace } from '../support/private-namespaces.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '../..');
const PINS = '/sys/fs/bpf/dnsdist-demo';
const READY = /^Webserver launched on 127\.0\.0\.1:8083$/m;
const ATTACKER = '127.0.0.66';
const NOBODY = 65534;

/** The demo's answer to a dig from `source` in the namespace, or 'no answer' when dig got none (exit 9). */
async function digIn(ns: PrivateNamespace, source = '127.0.0.1', tries = 3): Promise<string> {
  // Three tries for an answer expected (a loaded machine can miss one); one for a source expected to be dropped.
  const r = await ns.exec('dig', [
    '@127.0.0.1',
    '-p',
    '5300',
    '-b',
    source,
    '+short',
    `+tries=${tries}`,
    '+timeout=2',
    'www.example.test',
    'A',
  ]);
  // A try that timed out before one that was answered leaves dig's ";; communications error" comment in +short output.
  const answers = r.stdout
    .split('\n')
    .filter((line) => !line.startsWith(';;'))
    .join('\n');
  return r.code === 9 ? 'no answer' : answers.trim();
}

/** `xdp-filter status --json` for lo in the namespace; `drops` is its DropAddress total (counters come as decimal strings). */
async function xdpStatus(ns: PrivateNamespace): Promise<{ xdpFilter: boolean; mode: string; drops: number }> {
  const r = await ns.exec('bin/xdp-filter', ['status', '--iface', 'lo', '--pin-dir', PINS, '--json']);
  expect(r.stderr).toBe('');
  const s = JSON.parse(r.stdout) as { xdpFilter: boolean; mode: string; totals: Record<string, string> | null };
  return { xdpFilter: s.xdpFilter, mode: s.mode, drops: Number(s.totals?.DropAddress ?? NaN) };
}

const consoleIn = async (ns: PrivateNamespace, line: string) =>
  (await ns.exec('bin/dnsdist-ts', ['-C', 'conf/dnsdist.conf', '-c', '-e', line])).stdout;

describeRequires('make run with root and bpffs: the demo enforces its dynamic blocks in the kernel', [bpf, dig, dnsperf], () => {
  let demo: PrivateNamespace;

  beforeAll(async () => {
    demo = startInPrivateNamespaces(['scripts/run-demo.sh'], { bpffs: 'fresh', cwd: REPO });
    await demo.waitForOutput(READY);
  }, 30000);
  afterAll(() => demo?.stop());

  it('answers dig, attaches the XDP filter to lo and says in one line that kernel enforcement is on and how to watch it', async () => {
    expect(await digIn(demo)).toBe('192.0.2.10');
    const on = demo.output().match(/^Kernel enforcement on: .*$/gm);
    expect(on).toHaveLength(1);
    expect(on![0]).toContain(`bin/xdp-filter status --iface lo --pin-dir ${PINS}`);
    expect(on![0]).toContain('showDynBlocks()');
    expect(on![0]).toContain('http://127.0.0.1:8083/');
    expect(on![0]).toContain('make demo-attack');
    expect(demo.output()).not.toContain('Kernel enforcement off');
    // The configuration's filter, pinned in the namespace's own bpffs, in dnsdist's external layout's names.
    const pins = (await demo.exec('ls', [PINS])).stdout.split('\n');
    expect(pins).toEqual(expect.arrayContaining(['addr-v4', 'addr-v6', 'qnames', 'cidr4', 'cidr6', 'xdp-stats']));
    const status = await xdpStatus(demo);
    expect(status).toMatchObject({ xdpFilter: true, mode: 'generic' });
    expect(status.drops).toBe(0);
  });

  it('make demo-attack: the flood gets its source blocked, the XDP filter drops it, the legitimate client is still answered', async () => {
    const attack = await demo.exec('scripts/demo-attack.sh', []);
    expect(attack.stderr).toBe('');
    expect(attack.code).toBe(0);

    // The kernel dropped the attacker's queries: the XDP counter rose, and the script says by how much.
    const { drops } = await xdpStatus(demo);
    expect(drops).toBeGreaterThan(0);
    const said = /^XDP filter on lo: (\d+) of the attacker's queries dropped in the kernel/m.exec(attack.stdout);
    expect(Number(said?.[1])).toBeGreaterThan(0);
    expect(Number(said?.[1])).toBeLessThanOrEqual(drops);

    // The block is the dynamic-block rule's, mirrored into the kernel (eBPF column), in the console and the dashboard.
    const blockLine = new RegExp(
      `^${ATTACKER.replace(/\./g, '\\.')}/32\\s+\\d+\\s+(\\d+)\\s+false\\s+Drop\\s+\\*\\s+Exceeded query rate$`,
      'm',
    );
    expect(await consoleIn(demo, 'showDynBlocks()')).toMatch(blockLine);
    expect(attack.stdout).toMatch(new RegExp(`^\\s+${blockLine.source.slice(1)}`, 'm'));
    const dashboard = await demo.exec(process.execPath, [
      '-e',
      `fetch('http://127.0.0.1:8083/dashboard.json', { headers: { authorization: 'Basic ${Buffer.from('admin:dnsdist-ts-demo').toString('base64')}' } })
         .then(async (r) => { if (!r.ok) throw new Error(String(r.status)); process.stdout.write(await r.text()); })`,
    ]);
    expect(dashboard.stderr).toBe('');
    expect(dashboard.stdout).toContain(`"${ATTACKER}/32"`);

    // The user's own queries (127.0.0.1) are answered, during the flood and after; the attacker's are not.
    expect(attack.stdout).toMatch(/^ {2}attacker: Queries sent: \d+/m);
    // A loaded machine (CI shares two cores with the flood, and dnsperf gives each query 1 s) may time out
    // a few of them (9 of ~120 seen once in CI); a block of 127.0.0.1 would lose them all.
    const sent = /^ {2}you {5}: Queries sent: (\d+)/m.exec(attack.stdout);
    const lost = /^ {2}you {5}: Queries lost: (\d+) /m.exec(attack.stdout);
    expect(sent).not.toBeNull();
    expect(lost).not.toBeNull();
    expect(Number(sent![1])).toBeGreaterThan(0);
    expect(Number(lost![1])).toBeLessThanOrEqual(Number(sent![1]) / 10);
    expect(attack.stdout).toMatch(/^Your own queries from 127\.0\.0\.1 are still answered: .* -> 192\.0\.2\.10$/m);
    expect(attack.stdout).toMatch(/^The attacker \(127\.0\.0\.66\) is not: dig -b 127\.0\.0\.66 -> no answer \(blocked for 60 s\)$/m);
    expect(await digIn(demo)).toBe('192.0.2.10');
    expect(await digIn(demo, ATTACKER, 1)).toBe('no answer');
    expect((await xdpStatus(demo)).drops).toBeGreaterThan(drops);
  }, 60000);
});

describeRequires('make run without kernel enforcement: the demo still answers and says why in one line', [bpf, dig], () => {
  const cases: Array<[string, { bpffs: 'fresh' | 'none'; uid?: number }, RegExp]> = [
    [
      'no bpffs mounted',
      { bpffs: 'none' },
      /^Kernel enforcement off: no bpffs is mounted at \/sys\/fs\/bpf; mount it \(mount -t bpf bpf \/sys\/fs\/bpf\) and try again; the proxy enforces dynamic blocks itself$/m,
    ],
    [
      'not root',
      { bpffs: 'fresh', uid: NOBODY },
      /^Kernel enforcement off: this process cannot create BPF maps: not root \(uid 65534\), EPERM; run as root; the proxy enforces dynamic blocks itself$/m,
    ],
  ];
  // The run as nobody must reach the scripts and the built CLI, wherever the checkout is.
  let restoreModes: () => void = () => {};
  beforeAll(() => {
    restoreModes = makeTraversable();
  });
  afterAll(() => restoreModes());
  it.each(cases)(
    '%s',
    async (_name, opts, off) => {
      const demo = startInPrivateNamespaces(['scripts/run-demo.sh'], { ...opts, cwd: REPO });
      try {
        await demo.waitForOutput(READY);
        expect(await digIn(demo)).toBe('192.0.2.10');
        expect(demo.output()).toMatch(off);
        expect(demo.output().match(/^Kernel enforcement .*$/gm)).toHaveLength(1);
        expect(demo.output()).not.toContain('Attached the XDP filter');
        expect((await xdpStatus(demo)).xdpFilter).toBe(false);
      } finally {
        await demo.stop();
      }
    },
    30000,
  );
});
