/**
 * The CLI process with a console command that never ends: DNS is still
 * answered and SIGTERM still stops the process (its handler runs on the
 * event loop the command used to hold).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsoleClient, makeKey } from '@dnsdist-ts/console/console/index.js';
import { exited, startCli } from '../cli/cli-process.js';
import { udpQuery } from '../support/dns-client.js';
import { freePort as freeUdpPort } from '../support/proxy-harness.js';
import { freePort as freeTcpPort } from './dnsdist-process.js';

describe('SIGTERM during a console command', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'dts-console-sigterm-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('answers DNS while `while true do end` runs with no time limit, and exits cleanly on SIGTERM', async () => {
    const key = makeKey();
    const dnsPort = await freeUdpPort();
    const consolePort = await freeTcpPort();
    const file = join(dir, 'dnsdist.conf');
    writeFileSync(
      file,
      [
        `setLocal("127.0.0.1:${dnsPort}")`,
        `controlSocket("127.0.0.1:${consolePort}")`,
        `setKey("${key}")`,
        // No limit: only the slicing lets the signal handler run.
        'setConsoleCommandTimeout(0)',
        'addAction(AllRule(), RCodeAction(DNSRCode.REFUSED))',
      ].join('\n'),
    );
    const { child } = await startCli(['--supervised', '-C', file], /Accepting control connections/);
    let detector: NodeJS.Timeout | undefined;
    try {
      // The console may accept before the listeners answer (with data-plane workers, they start after it).
      for (let tries = 1; (await udpQuery(dnsPort, 'ready.example'))?.rcode !== 'REFUSED'; tries++) {
        if (tries === 10) throw new Error('the proxy did not answer DNS after 10 queries');
      }
      const spinning = new Promise<void>((resolve) => {
        const onData = (d: Buffer): void => {
          if (d.toString().includes('spinning')) resolve();
        };
        child.stdout!.on('data', onData);
        child.stderr!.on('data', onData);
      });
      const client = await ConsoleClient.connect({ host: '127.0.0.1', port: consolePort, key });
      const reply = client.run('infolog("spinning") while true do end').then(
        () => 'answered',
        (e: unknown) => (e as { failure?: string }).failure,
      );
      await spinning;
      expect((await udpQuery(dnsPort, 'during.example'))?.rcode).toBe('REFUSED');

      child.kill('SIGTERM');
      // A failure detector, not a timing assertion: without slicing the process never exits.
      const timedOut = new Promise<string>((resolve) => {
        detector = setTimeout(() => resolve('still running 10 s after SIGTERM'), 10_000);
      });
      expect(await Promise.race([exited(child), timedOut])).toBe(0);
      // The command was dropped with its connection, not answered.
      expect(await reply).toBe('closed');
      await client.close();
    } finally {
      clearTimeout(detector);
      child.kill('SIGKILL');
    }
  });
});
