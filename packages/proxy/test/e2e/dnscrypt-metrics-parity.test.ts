/**
 * DNSCrypt listeners' counters, dnsdist 1.7.3 and dnsdist-ts side by side:
 * the same boxed queries over UDP and TCP to each, then the frontends of
 * the API (`UDP (DNSCrypt)`, `TCP (DNSCrypt)`) and the dnsdist_frontend_*
 * samples of /metrics must say the same, the listener in `local` too.
 */
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as dnsPacket from 'dns-packet';
import { carbonLines } from '@dnsdist-ts/integrations/carbon/carbon-lines.js';
import { describeDnsdist } from '../../../../test/support/dnsdist.js';
import { freePort, startDnsdist, type RunningDnsdist } from '../console/dnsdist-process.js';
import { dnscryptQuery, fetchDNSCryptCertificates } from '../support/dnscrypt-client.js';
import { getJson, httpRequest } from '../web/http-client.js';
import { startWebProxy, type RunningWebProxy } from '../web/web-harness.js';

const PROVIDER = '2.provider.example';
const KEY = { apiKey: 'k' };

interface Side {
  dnscrypt: number;
  web: number;
}

type Frontend = Record<string, unknown> & { type: string; tcpCurrentConnections: number };

async function dnscryptFrontends(side: Side): Promise<Frontend[]> {
  const api = await getJson<{ frontends: Frontend[]; local: string }>(side.web, '/api/v1/servers/localhost', KEY);
  expect(api.local).toContain(`127.0.0.1:${side.dnscrypt}`);
  return api.frontends.filter((f) => f.type.includes('DNSCrypt'));
}

/**
 * The frontends once both TCP connections are closed on the server side too:
 * the client's close reaches the server a moment after the answer, and
 * dnsdist offers no event for it, so the API is read again, a bounded number of times.
 */
async function settledFrontends(side: Side): Promise<Frontend[]> {
  for (let attempt = 0; ; attempt++) {
    const f = await dnscryptFrontends(side);
    if (f.every((x) => x.tcpCurrentConnections === 0) || attempt >= 100) return f;
    await new Promise((r) => setTimeout(r, 20));
  }
}

function sendDatagram(port: number, data: Buffer): Promise<void> {
  const s = createSocket('udp4');
  return new Promise<void>((resolve, reject) => s.send(data, port, '127.0.0.1', (err) => (err ? reject(err) : resolve()))).finally(() =>
    s.close(),
  );
}

async function metricLines(side: Side): Promise<string[]> {
  const text = (await httpRequest(side.web, '/metrics', KEY)).body;
  return text
    .split('\n')
    .filter((l) => l.includes('DNSCrypt'))
    .map((l) => l.replace(`127.0.0.1:${side.dnscrypt}`, 'BIND'))
    .sort();
}

describeDnsdist('DNSCrypt frontend counters, side by side with dnsdist 1.7.3', () => {
  let dir: string;
  let ours: RunningWebProxy;
  let dnsdist: RunningDnsdist;
  const theirs = {} as Side;
  const mine = {} as Side;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dts-dnscrypt-metrics-'));
    const now = Math.floor(Date.now() / 1000);
    const bind = (port: number | string): string =>
      `addDNSCryptBind("127.0.0.1:${port}", "${PROVIDER}", "${dir}/r.cert", "${dir}/r.key")
addAction(AllRule(), SpoofAction("192.0.2.1"))
webserver("127.0.0.1:\${WEB}")
setWebserverConfig({apiKey="k"})
`;
    mine.dnscrypt = await freePort();
    ours = await startWebProxy(
      `generateDNSCryptProviderKeys("${dir}/p.pub", "${dir}/p.key")
generateDNSCryptCertificate("${dir}/p.key", "${dir}/r.cert", "${dir}/r.key", 1, ${now - 60}, ${now + 7200})
${bind(mine.dnscrypt)}`,
      { WEB: 0 },
    );
    mine.web = ours.web;
    Object.assign(theirs, { dnscrypt: await freePort(), web: await freePort() });
    const consolePort = await freePort();
    dnsdist = await startDnsdist(
      `setSecurityPollSuffix("")\ncontrolSocket("127.0.0.1:${consolePort}")\nsetLocal("127.0.0.1:${await freePort()}")\n` +
        bind(theirs.dnscrypt).replace('${WEB}', String(theirs.web)),
      consolePort,
    );
  });

  afterAll(async () => {
    await ours?.stop();
    await dnsdist?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('counts queries and answers per listener and protocol, TCP connections too, in the API and /metrics as dnsdist does', async () => {
    const providerKey = new Uint8Array(readFileSync(`${dir}/p.pub`));
    const stats: Record<string, number>[] = [];
    for (const side of [theirs, mine]) {
      const [cert] = await fetchDNSCryptCertificates(side.dnscrypt, PROVIDER, providerKey);
      for (const [i, tcp] of [false, false, false, true, true].entries()) {
        const a = await dnscryptQuery(side.dnscrypt, cert!, `q${i}.example`, tcp);
        expect((a.answers?.[0] as dnsPacket.StringAnswer | undefined)?.data).toBe('192.0.2.1');
        // One connection at a time: the next opens once the server has closed this one.
        if (tcp) await settledFrontends(side);
      }
      // A datagram that is neither the certificate query nor a box for one of its certificates.
      await sendDatagram(side.dnscrypt, Buffer.alloc(120, 0x41));
      await fetchDNSCryptCertificates(side.dnscrypt, PROVIDER, providerKey);
      stats.push(JSON.parse((await httpRequest(side.web, '/jsonstat?command=stats', KEY)).body) as Record<string, number>);
    }
    const pick = (s: Record<string, number>): Record<string, number> =>
      Object.fromEntries(['queries', 'responses', 'noncompliant-queries', 'self-answered', 'rule-drop'].map((k) => [k, s[k]!]));
    expect(pick(stats[1]!)).toEqual(pick(stats[0]!));
    const [t, m] = [await settledFrontends(theirs), await settledFrontends(mine)];
    const comparable = (list: Frontend[], side: Side): Frontend[] =>
      list.map((f) => {
        // The averaged connection duration is a time: dnsdist's and ours are only both above 0.
        const duration = f.tcp ? (f.tcpAvgConnectionDuration as number) > 0 : true;
        return { ...f, address: String(f.address).replace(String(side.dnscrypt), 'PORT'), tcpAvgConnectionDuration: duration };
      });
    expect(m.map((f) => [f.type, f.queries, f.responses])).toEqual([
      ['UDP (DNSCrypt)', 6, 3],
      ['TCP (DNSCrypt)', 2, 2],
    ]);
    expect(comparable(m, mine)).toEqual(comparable(t, theirs));
    const metricsWithoutDuration = async (side: Side): Promise<string[]> =>
      (await metricLines(side)).filter((l) => !l.startsWith('dnsdist_frontend_tcpavgconnectionduration'));
    expect(await metricsWithoutDuration(mine)).toEqual(await metricsWithoutDuration(theirs));
  });

  it('exports the listeners to Carbon as dnsdist names frontends (<address>_udp, <address>_tcp), the averages as doubles', () => {
    const proxy = ours.app.proxy;
    const text = carbonLines({ stats: [], servers: [], frontends: [], dnscryptBinds: proxy.dnscryptBinds, pools: new Map() }, 'p.', 1);
    const base = `p.frontends.127_0_0_1:${mine.dnscrypt}`;
    expect(text).toContain(`${base}_udp.queries 6 1\r\n`);
    expect(text).toContain(`${base}_tcp.queries 2 1\r\n`);
    expect(text).toContain(`${base}_tcp.tcpavgqueriesperconnection 0.0199 1\r\n`);
    expect(text).not.toContain(`${base}_udp_1.`);
  });
});
