/**
 * newServer{checkFunction=…}: the Lua function rewrites each health-check
 * question and header; the backend's answer to that query decides up/down.
 */
import * as dnsPacket from 'dns-packet';
import { waitFor } from '../support/dns-client.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { startUdpBackend } from '../support/test-backends.js';

/** Answers SERVFAIL for names under bad.check, NOERROR otherwise; records each question and its CD bit. */
async function checkedBackend() {
  const seen: Array<{ name: string; type: string; cd: boolean }> = [];
  const backend = await startUdpBackend((msg) => {
    const q = dnsPacket.decode(msg);
    const question = q.questions![0]!;
    seen.push({ name: question.name, type: question.type, cd: ((q.flags ?? 0) & dnsPacket.CHECKING_DISABLED) !== 0 });
    return dnsPacket.encode({
      type: 'response',
      id: q.id,
      flags: (q.flags ?? 0) | (question.name.endsWith('bad.check') ? 2 : 0),
      questions: q.questions,
    } as dnsPacket.Packet);
  });
  return { ...backend, seen };
}

describe('newServer{checkFunction=...}', () => {
  let good: Awaited<ReturnType<typeof checkedBackend>>;
  let bad: Awaited<ReturnType<typeof checkedBackend>>;
  let broken: Awaited<ReturnType<typeof checkedBackend>>;
  let proxy: RunningProxy;

  beforeAll(async () => {
    good = await checkedBackend();
    bad = await checkedBackend();
    broken = await checkedBackend();
    proxy = await startProxy(
      `setLocal("127.0.0.1:\${PORT}")
       newServer{address="127.0.0.1:\${GOOD}", name="good", checkName="bad.check.", checkFunction=function(qname, qtype, qclass, dh)
         seenName = qname:toString()
         dh:setCD(true)
         return newDNSName("ok.check."), DNSQType.TXT, qclass
       end}
       newServer{address="127.0.0.1:\${BAD}", name="bad", checkFunction=function(qname, qtype, qclass, dh)
         return "bad.check.", qtype, qclass
       end}
       newServer{address="127.0.0.1:\${BROKEN}", name="broken", checkFunction=function(qname, qtype, qclass, dh)
         error("check boom")
       end}`,
      { GOOD: good.port, BAD: bad.port, BROKEN: broken.port },
    );
  });
  afterAll(async () => {
    await proxy?.stop();
    await good?.close();
    await bad?.close();
    await broken?.close();
  });
  const server = (name: string) => proxy.app.proxy.servers.find((s) => s.name === name)!;

  it('asks the question and header the function made; the answer decides the state', async () => {
    await waitFor('a check reached the good backend', () => good.seen.length > 0);
    expect(good.seen[0]).toEqual({ name: 'ok.check', type: 'TXT', cd: true });
    expect(proxy.app.runtime.runString('return seenName')[0]).toBe('bad.check.');
    expect(server('good').isUp()).toBe(true);
  });

  it('a check query answered SERVFAIL marks the server down', async () => {
    await waitFor('a check reached the bad backend', () => bad.seen.length > 0);
    expect(bad.seen[0]!.name).toBe('bad.check');
    expect(server('bad').isUp()).toBe(false);
  });

  it('a failing function is logged, the check counts as failed, nothing is sent', () => {
    expect(server('broken').isUp()).toBe(false);
    expect(broken.seen).toEqual([]);
    expect(proxy.output.some((l) => /^Error in the checkFunction of backend broken: .*check boom/.test(l))).toBe(true);
  });

  it('a checkFunction that is not a function is refused with the expected signature', async () => {
    await expect(startProxy(`newServer{address="127.0.0.1:53", checkFunction="nope"}`)).rejects.toThrow(
      /'checkFunction' must be a function\(qname, qtype, qclass, dh\)/,
    );
  });
});
