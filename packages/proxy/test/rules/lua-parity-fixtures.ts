/**
 * The side-by-side set-up of the Lua parity tests: the same rules loaded
 * into Debian's dnsdist 1.7.3 and into dnsdist-ts, one shared backend, and
 * what of an answer is compared.
 */
import * as dnsPacket from 'dns-packet';
import { freePort, startDnsdist, type RunningDnsdist } from '../console/dnsdist-process.js';
import type { Answer } from '../support/dns-client.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { answerWithA, startUdpBackend, type TestBackend } from '../support/test-backends.js';

/** A query whose OPT record carries a cookie (bytes above 0x7f included), NSID, and a second cookie. */
export function queryWithOptions(name: string): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: 4243,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'A', name, class: 'IN' }],
    additionals: [
      {
        type: 'OPT',
        name: '.',
        udpPayloadSize: 1232,
        flags: 0,
        options: [
          { code: 10, data: Buffer.from([0xff, 0x80, 1, 2, 3, 4, 5, 6]) },
          { code: 3, data: Buffer.alloc(0) },
          { code: 10, data: Buffer.from([9, 8, 7, 6, 5, 4, 3, 0xc3]) },
        ],
      } as unknown as dnsPacket.Answer,
    ],
  });
}

/** What is compared: RCODE, flags, and the answer records (sorted: spoofed address order is shuffled). */
export function answerSummary(raw: Buffer | undefined): unknown {
  if (!raw) return 'no answer';
  const m = dnsPacket.decode(raw) as unknown as Answer;
  return {
    rcode: m.rcode,
    flags: (raw[2]! << 8) | raw[3]!,
    answers: (m.answers ?? []).map((a) => `${a.name} ${a.type} ${a.ttl ?? ''} ${JSON.stringify(a.data)}`).sort(),
  };
}

/** dnsdist 1.7.3 and dnsdist-ts running the same rules in front of one backend (answering A 192.0.2.1). */
export interface SideBySide {
  readonly dnsdistPort: number;
  readonly proxy: RunningProxy;
  stop(): Promise<void>;
}

export async function startSideBySide(rules: string): Promise<SideBySide> {
  const backend: TestBackend = await startUdpBackend((msg) => answerWithA(dnsPacket.decode(msg), '192.0.2.1'));
  const server = `newServer{address="127.0.0.1:${backend.port}"}:setUp()\n`;
  const dnsdistPort = await freePort();
  const consolePort = await freePort();
  let dnsdist: RunningDnsdist | undefined;
  let proxy: RunningProxy | undefined;
  const stop = async (): Promise<void> => {
    await dnsdist?.stop();
    await proxy?.stop();
    await backend.close();
  };
  try {
    dnsdist = await startDnsdist(
      `setLocal("127.0.0.1:${dnsdistPort}")\ncontrolSocket("127.0.0.1:${consolePort}")\nsetKey("${Buffer.alloc(32, 3).toString('base64')}")\nsetSecurityPollSuffix("")\n${server}${rules}`,
      consolePort,
    );
    proxy = await startProxy(`setLocal("127.0.0.1:\${PORT}")\n${server}${rules}`);
  } catch (err) {
    await stop();
    throw err;
  }
  return { dnsdistPort, proxy, stop };
}
