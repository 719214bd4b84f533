/**
 * statNodeRespRing(visitor [, seconds]) against Debian's dnsdist 1.7.3:
 * the same answers in the response ring, the same visitor, the same nodes
 * visited in the same order (children first, in label order, the root
 * last) with the same counts.
 */
import type { DemoServer } from '../../src/demo/demo-authoritative-server.js';
import { describeDnsdist } from '../../../../test/support/dnsdist.js';
import { udpQuery } from '../support/dns-client.js';
import { startDemo, startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { freePort, startDnsdistPeer, type DnsdistPeer } from '../rings/dnsdist-peer.js';

const VISITOR = `
function visitor(node, self, children)
  table.insert(seen, table.concat({ node.fullname, node.labelsCount, node:numChildren(), self.queries, self.noerrors,
    self.nxdomains, self.servfails, self.drops, children.queries, children.noerrors, children.nxdomains }, " "))
end
`;

/** Run statNodeRespRing with `args` and return the visited nodes, one line each. */
const WALK = (args: string): string => `seen = {} statNodeRespRing(visitor${args}) return table.concat(seen, "\\n")`;

const NAMES = ['example.test', 'www.example.test', 'www.example.test', 'nx.example.test', 'a.b.example.test', 'other.invalid'];

describeDnsdist('statNodeRespRing against dnsdist 1.7.3', () => {
  let demo: DemoServer;
  let peer: DnsdistPeer;
  let peerPort: number;
  let ours: RunningProxy;

  beforeAll(async () => {
    demo = await startDemo();
    peerPort = await freePort();
    const consolePort = await freePort();
    peer = await startDnsdistPeer(
      `setLocal("127.0.0.1:${peerPort}")\nnewServer{address="127.0.0.1:${demo.port}", checkName="example.test."}\n${VISITOR}`,
      consolePort,
      [/Accepting control connections/, /Marking downstream .* as 'up'/],
    );
    ours = await startProxy(
      `setLocal("127.0.0.1:\${PORT}")\nnewServer{address="127.0.0.1:${demo.port}", healthCheckMode="up"}\n${VISITOR}`,
    );
    for (const name of NAMES) {
      for (const port of [ours.port, peerPort]) expect(await udpQuery(port, name)).toBeDefined();
    }
  });

  afterAll(async () => {
    await ours?.stop();
    await peer?.stop();
    await demo?.close();
  });

  // dnsdist's console adds a newline after a returned string; ours does not.
  const trim = (t: string): string => t.replace(/\n+$/, '');

  it.each([
    ['no window', ''],
    ['a window of 0 (none)', ', 0'],
    ['a window of an hour', ', 3600'],
  ])('visits the same nodes with the same counts: %s', async (_what, args) => {
    const theirs = trim(await peer.run(WALK(args)));
    expect(theirs.split('\n')).toContain('www.example.test. 3 0 2 2 0 0 0 2 2 0');
    expect(trim(ours.app.runConsoleCommand(WALK(args)))).toBe(theirs);
  });
});
