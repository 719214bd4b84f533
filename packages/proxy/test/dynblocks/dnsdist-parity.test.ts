/**
 * The same dynamic-block configuration and the same traffic against
 * Debian's dnsdist 1.7.3 and dnsdist-ts: the rules group's text and the
 * showDynBlocks() tables must agree (keys, warning flags, actions,
 * reasons and block counts exactly; seconds left within 2).
 */
import type { DemoServer } from '../../src/demo/demo-authoritative-server.js';
import { describeDnsdist } from '../../../../test/support/dnsdist.js';
import { waitFor } from '../support/dns-client.js';
import { startDemo, startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { freePort, startDnsdistPeer, type DnsdistPeer } from '../rings/dnsdist-peer.js';
import { SourceClient } from './source-client.js';

const RULES = `
setRingBuffersSize(10000, 1)
dbr = dynBlockRulesGroup()
dbr:setQueryRate(10, 2, "Exceeded query rate", 60, DNSAction.Drop, 5)
dbr:setQTypeRate(DNSQType.TXT, 5, 2, "Exceeded TXT rate", 60, DNSAction.Refused)
dbr:setRCodeRate(DNSRCode.NXDOMAIN, 5, 10, "Exceeded NXD rate", 30, DNSAction.Truncate)
dbr:excludeRange({"127.0.0.60/30", "2001:db8::/32"})
dbr:includeRange("127.0.0.61")
dbr:excludeDomains({"example.test"})
function maintenance() dbr:apply() end
`;

interface Row {
  what: string;
  seconds: number;
  blocks: number;
  rest: string;
}

function rows(show: string): Row[] {
  const lines = show.trimEnd().split('\n');
  expect(lines[0]).toBe('What                      Seconds   Blocks Warning    Action               Reason');
  return lines.slice(1).map((l) => {
    const m = /^(\S+) +(-?\d+) +(\d+) (.*)$/.exec(l);
    if (!m) throw new Error(`not a showDynBlocks row: ${l}`);
    return { what: m[1]!, seconds: Number(m[2]), blocks: Number(m[3]), rest: m[4]! };
  });
}

function expectSameTables(ours: string, theirs: string): void {
  const a = rows(ours);
  const b = rows(theirs);
  expect(a.map((r) => `${r.what} ${r.blocks} ${r.rest}`)).toEqual(b.map((r) => `${r.what} ${r.blocks} ${r.rest}`));
  a.forEach((r, i) => expect(Math.abs(r.seconds - b[i]!.seconds)).toBeLessThanOrEqual(2));
}

describeDnsdist('dynamic blocks against dnsdist 1.7.3', () => {
  let demo: DemoServer;
  let peer: DnsdistPeer;
  let peerPort: number;
  let ours: RunningProxy;
  const clients = new Map<string, SourceClient>();

  beforeAll(async () => {
    demo = await startDemo();
    peerPort = await freePort();
    const consolePort = await freePort();
    peer = await startDnsdistPeer(
      `setLocal("127.0.0.1:${peerPort}")\nnewServer{address="127.0.0.1:${demo.port}", checkName="example.test."}\n${RULES}`,
      consolePort,
      [/Accepting control connections/, /Marking downstream .* as 'up'/],
    );
    ours = await startProxy(`setLocal("127.0.0.1:\${PORT}")\nnewServer{address="127.0.0.1:${demo.port}", healthCheckMode="up"}\n${RULES}`);
    for (const a of ['127.0.0.51', '127.0.0.52', '127.0.0.53', '127.0.0.54', '127.0.0.55', '127.0.0.61', '127.0.0.62']) {
      clients.set(a, await SourceClient.bind(a));
    }
  });

  afterAll(async () => {
    await Promise.all([...clients.values()].map((c) => c.close()));
    await ours?.stop();
    await peer?.stop();
    await demo?.close();
  });

  const both = (fn: (port: number) => void): void => {
    fn(ours.port);
    fn(peerPort);
  };

  it('prints the same rules group', async () => {
    // dnsdist's console adds a newline after a returned string even when it ends with one; ours does not.
    const trim = (t: string) => t.replace(/\n+$/, '');
    expect(trim(ours.app.runConsoleCommand('dbr:toString()'))).toBe(trim(await peer.run('dbr:toString()')));
  });

  it('makes the same blocks from the same traffic, and counts the same blocked queries', async () => {
    const c = (a: string) => clients.get(a)!;
    // NXDOMAIN answers over 5/s for 10 s: 51 of them.
    for (let i = 0; i < 51; i++) {
      await Promise.all([c('127.0.0.55').query(ours.port, `nx${i}.example.test`), c('127.0.0.55').query(peerPort, `nx${i}.example.test`)]);
    }
    // The windows are 2 s and maintenance() runs every second: some pass sees each flood whole.
    both((port) => c('127.0.0.51').send(port, 40));
    both((port) => c('127.0.0.52').send(port, 15));
    both((port) => c('127.0.0.53').send(port, 15, 'txt.example.test'));
    both((port) => c('127.0.0.54').send(port, 5));
    // Excluded (127.0.0.60/30) and punched back in (127.0.0.61).
    both((port) => c('127.0.0.62').send(port, 40));
    both((port) => c('127.0.0.61').send(port, 40));
    const entries = (show: string) => show.trimEnd().split('\n').length - 1;
    let theirs = '';
    await waitFor('our maintenance pass', () => entries(ours.app.runConsoleCommand('showDynBlocks()')) >= 5, 5000);
    const deadline = Date.now() + 5000;
    while (entries((theirs = await peer.run('showDynBlocks()'))) < 5 && Date.now() < deadline);
    expectSameTables(ours.app.runConsoleCommand('showDynBlocks()'), theirs);
    expect(rows(theirs).map((r) => r.what)).toEqual(['127.0.0.51/32', '127.0.0.52/32', '127.0.0.53/32', '127.0.0.55/32', '127.0.0.61/32']);

    // Three more queries from each client: counted by the blocks that act (not the NoOp warning).
    for (const a of ['127.0.0.51', '127.0.0.52', '127.0.0.53', '127.0.0.55']) {
      for (let i = 0; i < 3; i++)
        await Promise.all([c(a).query(ours.port, 'www.example.test', 'A', 300), c(a).query(peerPort, 'www.example.test', 'A', 300)]);
    }
    expectSameTables(ours.app.runConsoleCommand('showDynBlocks()'), await peer.run('showDynBlocks()'));
  });

  it('legacy addDynBlocks and addDynBlockSMT: same tables, same order', async () => {
    const cmds = [
      // No more passes: the NXDOMAIN answers of the previous test are still in the 10 s window.
      'function maintenance() end',
      'clearDynBlocks()',
      'addDynBlocks({[newCA("10.1.0.1")]=1, [newCA("10.0.0.1")]=1, [newCA("9.0.0.1")]=1, [newCA("::1")]=1, [newCA("2001:db8::1")]=1}, "n", 30, DNSAction.Refused)',
      'addDynBlockSMT({"a.example", "x.a.example", "B.example", "www.b.example", "z.", "c.example"}, "s", 40)',
    ];
    for (const cmd of cmds) {
      ours.app.runConsoleCommand(cmd);
      await peer.run(cmd);
    }
    expectSameTables(ours.app.runConsoleCommand('showDynBlocks()'), await peer.run('showDynBlocks()'));
  });
});
