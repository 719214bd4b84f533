import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as dnsPacket from 'dns-packet';
import { tcpQuery, udpQuery, waitFor } from '../support/dns-client.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { answerWithA, startUdpBackend } from '../support/test-backends.js';

/** A backend that answers everything with `address` (NXDOMAIN for names starting with "nx") and remembers the RD bit of what it got. */
async function recordingBackend(address: string) {
  const seen: Array<{ name: string; rd: boolean }> = [];
  const backend = await startUdpBackend((msg) => {
    const q = dnsPacket.decode(msg);
    seen.push({ name: q.questions![0]!.name, rd: ((q.flags ?? 0) & dnsPacket.RECURSION_DESIRED) !== 0 });
    if (!q.questions![0]!.name.startsWith('nx')) return answerWithA(q, address);
    return dnsPacket.encode({
      type: 'response',
      id: q.id,
      flags: (q.flags ?? 0) | dnsPacket.RECURSION_AVAILABLE | 3,
      questions: q.questions,
      answers: [],
    } as dnsPacket.Packet);
  });
  return { ...backend, seen };
}

describe('rules from a Lua configuration', () => {
  let main: Awaited<ReturnType<typeof recordingBackend>>;
  let other: Awaited<ReturnType<typeof recordingBackend>>;
  let proxy: RunningProxy;
  const logFile = join(tmpdir(), `dts-log-${process.pid}.txt`);

  beforeAll(async () => {
    main = await recordingBackend('192.0.2.1');
    other = await recordingBackend('192.0.2.99');
    proxy = await startProxy(
      `setLocal("127.0.0.1:\${PORT}")
       newServer{address="127.0.0.1:\${MAIN}", healthCheckMode="up"}
       newServer{address="127.0.0.1:\${OTHER}", pool="other", healthCheckMode="up"}
       addAction(AllRule(), NoneAction(), {name="counts-everything"})
       addAction(QTypeRule(DNSQType.AAAA), RCodeAction(DNSRCode.REFUSED), {name="no-aaaa"})
       addAction({"blocked.test.", "evil.test."}, DropAction())
       addAction("spoof.test.", SpoofAction({"192.0.2.7", "2001:db8::7"}))
       addAction(QTypeRule("TXT"), TCAction())
       addAction("other.test.", PoolAction("other"))
       addAction("norec.test.", NoRecurseAction())
       addAction(AndRule({QNameRule("tagme.test."), NotRule(TCPRule(true))}), SetTagAction("k", "v"))
       addAction(TagRule("k", "v"), RCodeAction(DNSRCode.NXDOMAIN))
       addAction(OrRule({QNameRule("a.or.test."), QNameRule("b.or.test.")}), SpoofCNAMEAction("target.test."))
       addAction("log.test.", LogAction("${logFile}", false, false, false))
       addAction(RegexRule("^[0-9]+\\\\.digits\\\\.test$"), DropAction())
       addResponseAction(RCodeRule(DNSRCode.NXDOMAIN), DropResponseAction())`,
      { MAIN: main.port, OTHER: other.port },
    );
  });
  afterAll(async () => {
    await proxy?.stop();
    await main?.close();
    await other?.close();
    if (existsSync(logFile)) rmSync(logFile);
  });

  it('RCodeAction answers with the rcode and counts rule-refused', async () => {
    const a = await udpQuery(proxy.port, 'x.test', { type: 'AAAA' });
    expect(a?.rcode).toBe('REFUSED');
    // With workers the control plane sums their counters a few times a second.
    await waitFor('rule-refused counted', () => proxy.app.proxy.counters.ruleRefused >= 1);
  });

  it('a table of names as selector drops those names and every name below them', async () => {
    const before = proxy.app.proxy.counters.ruleDrop;
    expect(await udpQuery(proxy.port, 'www.blocked.test', { timeoutMs: 300 })).toBeUndefined();
    expect(await udpQuery(proxy.port, 'evil.test', { timeoutMs: 300 })).toBeUndefined();
    expect(proxy.app.proxy.counters.ruleDrop - before).toBe(2);
    expect((await udpQuery(proxy.port, 'fine.test'))?.answers?.[0]?.data).toBe('192.0.2.1');
  });

  it('SpoofAction answers A and AAAA from the rule', async () => {
    expect((await udpQuery(proxy.port, 'spoof.test'))?.answers?.map((r) => r.data)).toEqual(['192.0.2.7']);
  });

  it('TCAction truncates over UDP and lets TCP through to the backend', async () => {
    const u = await udpQuery(proxy.port, 'tc.test', { type: 'TXT' });
    expect(u?.flag_tc).toBe(true);
    await waitFor('rule-truncated counted', () => proxy.app.proxy.counters.ruleTruncated === 1);
    const before = proxy.app.proxy.servers[0]!.counters.queries;
    // The backend has no TCP listener: what matters is that the query was forwarded, not truncated.
    await tcpQuery(proxy.port, 'tc.test', { type: 'TXT', timeoutMs: 1000 }).catch(() => undefined);
    await waitFor('the TCP query forwarded', () => proxy.app.proxy.servers[0]!.counters.queries === before + 1);
  });

  it('PoolAction routes to the pool', async () => {
    expect((await udpQuery(proxy.port, 'other.test'))?.answers?.[0]?.data).toBe('192.0.2.99');
  });

  it('NoRecurseAction clears RD before the backend sees the query', async () => {
    await udpQuery(proxy.port, 'norec.test');
    expect(main.seen.find((s) => s.name === 'norec.test')?.rd).toBe(false);
  });

  it('tags set by SetTagAction are matched by TagRule later in the chain', async () => {
    expect((await udpQuery(proxy.port, 'tagme.test'))?.rcode).toBe('NXDOMAIN');
  });

  it('OrRule and SpoofCNAMEAction', async () => {
    const a = await udpQuery(proxy.port, 'b.or.test');
    expect(a?.answers?.[0]).toMatchObject({ type: 'CNAME', data: 'target.test' });
  });

  it('RegexRule', async () => {
    expect(await udpQuery(proxy.port, '123.digits.test', { timeoutMs: 300 })).toBeUndefined();
  });

  it('LogAction writes a text line for the query', async () => {
    await udpQuery(proxy.port, 'log.test');
    await waitFor('log line', () => existsSync(logFile) && readFileSync(logFile, 'utf8').includes('log.test.'));
    expect(readFileSync(logFile, 'utf8')).toMatch(/^Packet from 127\.0\.0\.1:\d+ for log\.test\. A with id \d+$/m);
  });

  it('response rules: DropResponseAction on NXDOMAIN answers', async () => {
    expect(await udpQuery(proxy.port, 'nx.test', { timeoutMs: 300 })).toBeUndefined();
  });

  it('showRules lists names, hit counts and descriptions; rmRule and topRule work from the console', () => {
    const out = proxy.app.runConsoleCommand('showRules()');
    const lines = out.split('\n');
    expect(lines[0]).toMatch(/^#\s+Name\s+Matches Rule\s+Action$/);
    expect(lines[1]).toMatch(/^0\s+counts-everything\s+\d+ All\s+no op$/);
    expect(lines[2]).toMatch(/^1\s+no-aaaa\s+1 qtype==AAAA\s+set rcode 5$/);
    expect(proxy.app.runConsoleCommand('rmRule("no-aaaa")')).toBe('');
    expect(proxy.app.runConsoleCommand('showRules()')).not.toContain('no-aaaa');
    expect(proxy.app.runConsoleCommand('rmRule(99)')).toBe('Error: attempt to delete non-existing rule\n');
  });
});
