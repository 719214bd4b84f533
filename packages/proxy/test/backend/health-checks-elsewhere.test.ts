/**
 * A proxy whose backends' health is decided by another thread (a data-plane
 * worker follows the control plane's verdicts): a backend added at run time
 * gets no health check there, neither the first one nor the tick's, and stays
 * down until its state is set. Against a real UDP backend that counts what
 * reaches it; the same proxy without the setting checks and marks it up.
 */
import * as dnsPacket from 'dns-packet';
import { DnsdistProxy } from '@dnsdist-ts/dataplane/server/dnsdist-proxy.js';
import { RuleChains } from '@dnsdist-ts/dataplane/rules/index.js';
import { Rings } from '@dnsdist-ts/dataplane/rings/index.js';
import { serverConfigFrom } from '@dnsdist-ts/lua/lua/bind-servers.js';
import { answerWithA, startUdpBackend, type TestBackend } from '../support/test-backends.js';

describe('health checks decided elsewhere', () => {
  let backend: TestBackend;
  let received = 0;
  const proxies: DnsdistProxy[] = [];

  beforeAll(async () => {
    backend = await startUdpBackend((q) => {
      received++;
      return answerWithA(dnsPacket.decode(q), '192.0.2.1');
    });
  });

  afterAll(async () => {
    await Promise.all(proxies.map((p) => p.stop()));
    await backend.close();
  });

  async function startedProxy(elsewhere: boolean): Promise<DnsdistProxy> {
    const p = new DnsdistProxy((c) => new RuleChains(c), new Rings());
    p.log.sink = () => {};
    p.healthChecksElsewhere = elsewhere;
    proxies.push(p);
    await p.start(true);
    return p;
  }

  it('runs no check for a backend added at run time, which stays down until told', async () => {
    const p = await startedProxy(true);
    const before = received;
    const server = await p.addServer(serverConfigFrom(`127.0.0.1:${backend.port}`));
    // Two ticks: a check would be due at the first.
    p.tick();
    p.tick();
    expect(server.availability).toBe('auto');
    expect(server.isUp()).toBe(false);
    expect(received).toBe(before);
    server.availability = 'up';
    expect(server.isUp()).toBe(true);
  });

  it('checks it and marks it up without the setting', async () => {
    const p = await startedProxy(false);
    const before = received;
    const server = await p.addServer(serverConfigFrom(`127.0.0.1:${backend.port}`));
    expect(received).toBe(before + 1);
    expect(server.isUp()).toBe(true);
  });
});
