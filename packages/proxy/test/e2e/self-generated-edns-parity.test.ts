/**
 * setPayloadSizeOnSelfGeneratedAnswers / setAddEDNSToSelfGeneratedResponses
 * reach every answer the proxy makes itself: RCodeAction, TCAction, a Lua
 * action's return code, ERCodeAction, the spoofing actions (dq:spoof from
 * Lua too), NegativeAndSOAAction and dynamic blocks. The settings come after
 * the actions in the configurations, as in dnsdist's own tests: an action
 * must answer with the value in force, not the one when it was made.
 * Compared byte for byte with Debian's dnsdist 1.7.3 answering the same queries.
 */
import * as dnsPacket from 'dns-packet';
import { describeDnsdist, spawnDnsdist, type SpawnedDnsdist } from '../../../../test/support/dnsdist.js';
import { tcpExchange, udpExchange } from '../support/dns-client.js';
import { waitForDnsdistAnswer } from '../support/dnsdist-ready.js';
import { freePort, startProxy, type RunningProxy } from '../support/proxy-harness.js';

const RULES = `
addAction("rcode.self.test.", RCodeAction(DNSRCode.REFUSED))
addAction("tc.self.test.", TCAction())
addAction("lua.self.test.", LuaAction(function(dq) return DNSAction.Nxdomain, "" end))
addAction("ercode.self.test.", ERCodeAction(DNSRCode.BADVERS))
addAction("spoof.self.test.", SpoofAction("192.0.2.1"))
addAction("cname.self.test.", SpoofCNAMEAction("target.self.test."))
addAction("luaspoof.self.test.", LuaAction(function(dq) dq:spoof({newCA("192.0.2.9")}) return DNSAction.HeaderModify end))
addAction("neg.self.test.", NegativeAndSOAAction(true, "self.test.", 3600, "ns.self.test.", "hostmaster.self.test.", 1, 2, 3, 4, 5))
addAction("svc.self.test.", SpoofSVCAction({newSVCRecordParameters(1, ".", {port=853, ipv4hint={"192.0.2.53"}})}))
addDynBlockSMT({"dyn.self.test."}, "blocked", 3600, DNSAction.Refused)
`;

const CONFIGS: Record<string, string> = {
  'payload size 1042': 'setPayloadSizeOnSelfGeneratedAnswers(1042)',
  'no EDNS on self-generated answers': 'setAddEDNSToSelfGeneratedResponses(false)',
};

const config = (port: number | string, setting: string): string => `setLocal("127.0.0.1:${port}")
${RULES}
${setting}
newServer{address="127.0.0.1:9", healthCheckMode="down"}
`;

function query(name: string, type: string, edns: boolean, dnssecOk: boolean): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: 0x4242,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: type as dnsPacket.RecordType, name, class: 'IN' }],
    ...(edns
      ? {
          additionals: [
            { type: 'OPT', name: '.', udpPayloadSize: 4096, flags: dnssecOk ? dnsPacket.DNSSEC_OK : 0 } as unknown as dnsPacket.Answer,
          ],
        }
      : {}),
  });
}

const NAMES: Array<[string, string]> = [
  ['rcode.self.test', 'A'],
  ['tc.self.test', 'A'],
  ['lua.self.test', 'A'],
  ['ercode.self.test', 'A'],
  ['spoof.self.test', 'A'],
  ['cname.self.test', 'A'],
  ['luaspoof.self.test', 'A'],
  ['neg.self.test', 'A'],
  ['svc.self.test', 'SVCB'],
  ['dyn.self.test', 'A'],
];

for (const [what, setting] of Object.entries(CONFIGS)) {
  describeDnsdist(`self-generated answers with ${what}, as dnsdist`, () => {
    let dnsdist: SpawnedDnsdist;
    let dnsdistPort: number;
    let proxy: RunningProxy;

    beforeAll(async () => {
      dnsdistPort = await freePort();
      dnsdist = spawnDnsdist(config(dnsdistPort, setting));
      proxy = await startProxy(config('${PORT}', setting));
      await waitForDnsdistAnswer(dnsdist, dnsdistPort, query('rcode.self.test', 'A', false, false));
    }, 30000);
    afterAll(async () => {
      await proxy?.stop();
      await dnsdist?.stop();
    });

    for (const [name, type] of NAMES) {
      it(`answers ${name} ${type} like dnsdist, with and without EDNS`, async () => {
        for (const [edns, dnssecOk] of [
          [true, false],
          [true, true],
          [false, false],
        ] as const) {
          const q = query(name, type, edns, dnssecOk);
          const theirs = await udpExchange(dnsdistPort, q);
          expect(theirs).toBeDefined();
          expect((await udpExchange(proxy.port, q))?.toString('hex')).toBe(theirs!.toString('hex'));
          if (name.startsWith('tc.')) continue; // a TC=1 answer is made over UDP only
          expect((await tcpExchange(proxy.port, q)).toString('hex')).toBe((await tcpExchange(dnsdistPort, q)).toString('hex'));
        }
      });
    }
  });
}
