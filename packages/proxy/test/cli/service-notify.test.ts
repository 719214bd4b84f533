/**
 * --supervised under a Type=notify unit: READY=1 reaches $NOTIFY_SOCKET only
 * once queries are answered, STOPPING=1 when SIGTERM arrives. The receiving
 * end is a real AF_UNIX datagram socket (python3: node cannot bind one).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { itRequires } from '../../../../test/support/require.js';
import { python3 } from '../../../../test/support/requirements.js';
import { ServiceNotifier } from '../../src/cli/service-notify.js';
import { freePort, startDemo } from '../support/proxy-harness.js';
import { udpQuery } from '../support/dns-client.js';
import { CLI, exited } from './cli-process.js';

const RECEIVER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("BOUND", flush=True)
while True:
    print(s.recv(4096).decode().replace("\\n", "|"), flush=True)
`;

/** The lines the receiver prints, one promise per expected line. */
function lines(child: ChildProcessWithoutNullStreams): () => Promise<string> {
  const queue: string[] = [];
  const waiters: Array<(l: string) => void> = [];
  createInterface({ input: child.stdout }).on('line', (l) => {
    const w = waiters.shift();
    if (w) w(l);
    else queue.push(l);
  });
  return () => (queue.length > 0 ? Promise.resolve(queue.shift()!) : new Promise((resolve) => waiters.push(resolve)));
}

describe('systemd readiness notification', () => {
  it('reports a failure to send instead of throwing, and stays silent without NOTIFY_SOCKET', () => {
    const warnings: string[] = [];
    const notifier = new ServiceNotifier(
      '/nonexistent/notify',
      () => {
        throw new Error('sendto(/nonexistent/notify): No such file or directory');
      },
      (l) => warnings.push(l),
    );
    notifier.notify('READY=1');
    expect(warnings).toEqual([
      "Could not tell the supervisor 'READY=1' through NOTIFY_SOCKET /nonexistent/notify: sendto(/nonexistent/notify): No such file or directory",
    ]);
    expect(ServiceNotifier.fromEnvironment({}, (l) => warnings.push(l))).toBeUndefined();
  });

  itRequires('sends READY=1 once queries are answered and STOPPING=1 on SIGTERM', python3, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dts-notify-'));
    const socketPath = join(dir, 'notify');
    const receiver = spawn('python3', ['-c', RECEIVER, socketPath]);
    const next = lines(receiver);
    const backend = await startDemo();
    let proxy: ReturnType<typeof spawn> | undefined;
    try {
      expect(await next()).toBe('BOUND');
      const port = await freePort();
      const conf = join(dir, 'dnsdist.conf');
      writeFileSync(conf, `setLocal("127.0.0.1:${port}")\nnewServer{address="127.0.0.1:${backend.port}"}\n`);
      proxy = spawn(process.execPath, [CLI, '--supervised', '-C', conf], {
        stdio: 'ignore',
        env: { ...process.env, NOTIFY_SOCKET: socketPath },
      });
      expect(await next()).toBe('READY=1');
      // Ready means serving: the first query after READY=1 is answered.
      expect((await udpQuery(port, 'www.example.test.', { timeoutMs: 2000 }))?.rcode).toBe('NOERROR');
      proxy.kill('SIGTERM');
      expect(await next()).toBe('STOPPING=1');
      expect(await exited(proxy)).toBe(0);
    } finally {
      proxy?.kill('SIGKILL');
      receiver.kill();
      await backend.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
