/**
 * Bounded loads through the running proxy: one backend never answers (its
 * queries stay outstanding), the other answers at once. With the factor at 1
 * the silent backend may hold at most (its outstanding + the other's + 1) / 2
 * queries, so it gets at most 2 of the queries sent one after the other;
 * without the factor it gets about half of them.
 */
import dgram from 'node:dgram';
import * as dnsPacket from 'dns-packet';
import { answerWithA } from '../support/test-backends.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';

const QUERIES = 40;

interface Backend {
  port: number;
  received: number;
  close(): Promise<void>;
}

/** A UDP backend that answers (or, silent, only counts) and calls `onQuery` for each query it gets. */
async function backend(silent: boolean, onQuery: () => void): Promise<Backend> {
  const socket = dgram.createSocket('udp4');
  const b: Backend = { port: 0, received: 0, close: () => new Promise<void>((r) => socket.close(() => r())) };
  socket.on('message', (msg, rinfo) => {
    b.received++;
    if (!silent) socket.send(answerWithA(dnsPacket.decode(msg), '192.0.2.1'), rinfo.port, rinfo.address);
    onQuery();
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  b.port = socket.address().port;
  return b;
}

/** Send QUERIES queries one at a time, each once it was answered or reached the silent backend; how many the silent one got. */
async function run(policy: string, setting: string): Promise<number> {
  let step: (() => void) | undefined;
  const next = (): void => step?.();
  const silent = await backend(true, next);
  const answering = await backend(false, () => {});
  const client = dgram.createSocket('udp4');
  client.on('message', next);
  let proxy: RunningProxy | undefined;
  try {
    await new Promise<void>((r) => client.bind(0, '127.0.0.1', () => r()));
    proxy = await startProxy(
      `setLocal("127.0.0.1:\${PORT}")
       setUDPTimeout(60)
       newServer{address="127.0.0.1:\${S}", name="silent", weight=100, healthCheckMode="up"}
       newServer{address="127.0.0.1:\${A}", name="answering", weight=100, healthCheckMode="up"}
       setServerPolicy(${policy})
       ${setting}`,
      { S: silent.port, A: answering.port },
    );
    for (let i = 0; i < QUERIES; i++) {
      const reached = new Promise<void>((r) => (step = r));
      const q = dnsPacket.encode({
        type: 'query',
        id: i,
        flags: dnsPacket.RECURSION_DESIRED,
        questions: [{ type: 'A', name: `q${i}.bound.test` }],
      });
      client.send(q, proxy.port, '127.0.0.1');
      await reached;
    }
    expect(silent.received + answering.received).toBe(QUERIES);
    return silent.received;
  } finally {
    await proxy?.stop();
    await new Promise<void>((r) => client.close(() => r()));
    await silent.close();
    await answering.close();
  }
}

describe('bounded loads through the proxy', () => {
  it('wrandom: the silent backend gets at most 2 queries with setWeightedBalancingFactor(1), many more without', async () => {
    expect(await run('wrandom', 'setWeightedBalancingFactor(1)')).toBeLessThanOrEqual(2);
    expect(await run('wrandom', '')).toBeGreaterThan(5);
  });

  it('whashed follows setWeightedBalancingFactor; chashed only setConsistentHashingBalancingFactor', async () => {
    expect(await run('whashed', 'setWeightedBalancingFactor(1)')).toBeLessThanOrEqual(2);
    expect(await run('chashed', 'setConsistentHashingBalancingFactor(1)')).toBeLessThanOrEqual(2);
    expect(await run('chashed', 'setWeightedBalancingFactor(1)')).toBeGreaterThan(5);
  });
});
