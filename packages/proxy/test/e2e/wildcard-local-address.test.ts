/**
 * A listener on 0.0.0.0 or :: serves every local address: as dnsdist,
 * dq.localaddr is the address each query came to, and a UDP answer leaves
 * from that address (a client whose socket is connect()ed to it, as most
 * resolvers' are, drops an answer from any other). Run in a private network
 * namespace whose loopback has extra IPv4 and IPv6 addresses; over UDP with
 * the native I/O addon (Node's dgram cannot tell the destination) and TCP.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describeBpf } from '../../../../test/support/require-bpf.js';
import { CLI, requireBuiltCli } from '../cli/cli-process.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/wildcard-local-address-in-netns.mjs', import.meta.url));

interface Answer {
  to: string;
  port: number;
  transport: 'udp' | 'tcp';
  answer: string;
}

/** The label the fixture's Lua action answers with: "to" and dq.localaddr:toStringWithPort(), punctuation as dashes. */
function expectedLabel(to: string, port: number): string {
  const withPort = to.includes(':') ? `[${to}]:${port}` : `${to}:${port}`;
  return `to${withPort.replace(/[.:[\]]/g, '-')}`;
}

describeBpf('wildcard listeners (root: private network namespace)', () => {
  it('see the address each query came to in dq.localaddr and answer from it, over UDP and TCP, IPv4 and IPv6', () => {
    requireBuiltCli();
    const r = spawnSync('unshare', ['-n', '--', process.execPath, FIXTURE, CLI, 'native'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(0);
    const { output, answers } = JSON.parse(r.stdout) as { output: string; answers: Answer[] };
    expect(answers).toHaveLength(10);
    for (const a of answers) {
      const label = expectedLabel(a.to, a.port);
      // The CNAME target's first label, length-prefixed on the wire.
      if (!a.answer.includes(String.fromCharCode(label.length) + label)) {
        throw new Error(
          `${a.transport} query to ${a.to}:${a.port}: expected ${label} in the answer, got ${JSON.stringify(a.answer)}\n${output}`,
        );
      }
    }
  });
});
