/**
 * The control plane's key material and the workers' copies, pure logic over
 * real proxy objects and real DNSCrypt certificates (no sockets, no threads):
 * what a worker takes in place of its own certificates, when the control
 * plane sends the set again, and when the console may reply.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DNSCryptBind } from '@dnsdist-ts/dataplane/dnscrypt/dnscrypt-bind.js';
import { sodiumReady } from '@dnsdist-ts/dataplane/dnscrypt/dnscrypt-certificate.js';
import { DNSCryptContext } from '@dnsdist-ts/dataplane/dnscrypt/dnscrypt-context.js';
import { generateProviderKeys } from '@dnsdist-ts/dataplane/dnscrypt/dnscrypt-provider-keys.js';
import { Rings } from '@dnsdist-ts/dataplane/rings/index.js';
import { RuleChains } from '@dnsdist-ts/dataplane/rules/index.js';
import { DnsdistProxy } from '@dnsdist-ts/dataplane/server/dnsdist-proxy.js';
import { TicketKeyRing } from '@dnsdist-ts/dataplane/tls/ticket-key-ring.js';
import { applyWorkerKeys, WorkerKeyDistribution, type WorkerKeys } from '@dnsdist-ts/workers/workers/worker-keys.js';

function proxyWithDNSCrypt(): DnsdistProxy {
  const p = new DnsdistProxy((c) => new RuleChains(c), new Rings());
  const config = { host: '127.0.0.1', port: 0, doTCP: true, reusePort: false, requestedBy: 'test' };
  p.dnscryptBinds.push(new DNSCryptBind(config, new DNSCryptContext('2.provider.example', [])));
  return p;
}

describe('worker keys', () => {
  let dir: string;
  let providerKey: string;
  beforeAll(async () => {
    await sodiumReady();
    dir = mkdtempSync(join(tmpdir(), 'dts-worker-keys-'));
    providerKey = join(dir, 'p.key');
    generateProviderKeys(join(dir, 'p.pub'), providerKey);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("a worker takes the control plane's certificates and keys in place of those its configuration made", () => {
    const [control, worker] = [proxyWithDNSCrypt(), proxyWithDNSCrypt()];
    control.dnscryptBinds[0]!.context.generateAndLoadInMemoryCertificate(providerKey, 1, 0, 4_000_000_000);
    control.dnscryptBinds[0]!.context.generateAndLoadInMemoryCertificate(providerKey, 2, 0, 4_000_000_000, 2);
    control.dnscryptBinds[0]!.context.markInactive(1);
    worker.dnscryptBinds[0]!.context.generateAndLoadInMemoryCertificate(providerKey, 1, 0, 4_000_000_000);
    const sent: WorkerKeys[] = [];
    const keys = new WorkerKeyDistribution(control, (_seq, k) => (sent.push(k), []));
    applyWorkerKeys(worker, keys.snapshot());
    const [c, w] = [control.dnscryptBinds[0]!.context, worker.dnscryptBinds[0]!.context];
    expect(w.pairs.map((p) => [p.wire.toString('hex'), Buffer.from(p.privateKey).toString('hex'), p.active])).toEqual(
      c.pairs.map((p) => [p.wire.toString('hex'), Buffer.from(p.privateKey).toString('hex'), p.active]),
    );
    expect(w.pairs.map((p) => p.cert.version)).toEqual([1, 2]);
    expect(sent).toEqual([]);
  });

  it('every change of the control plane sends the whole set; the console waits for each worker that was sent it, or its exit', async () => {
    const control = proxyWithDNSCrypt();
    const sent: Array<{ seq: number; keys: WorkerKeys }> = [];
    const dist = new WorkerKeyDistribution(control, (seq, keys) => (sent.push({ seq, keys }), [0, 1]));
    const ctx = control.dnscryptBinds[0]!.context;
    ctx.generateAndLoadInMemoryCertificate(providerKey, 7, 0, 4_000_000_000);
    ctx.markInactive(7);
    expect(sent.map((s) => s.seq)).toEqual([1, 2]);
    expect(sent[1]!.keys.dnscrypt[0]!.map((k) => [k.active, k.cert.length, k.key.length])).toEqual([[false, 124, 32]]);
    let delivered = false;
    void dist.delivered().then(() => (delivered = true));
    dist.applied(0, 1); // an older set: not the latest
    dist.applied(0, 2);
    await Promise.resolve();
    expect(delivered).toBe(false);
    dist.gone(1);
    await Promise.resolve();
    expect(delivered).toBe(true);
  });

  it("a worker's ticket key ring, given the control plane's keys, opens the tickets the control plane's active key made", () => {
    const [control, worker] = [new TicketKeyRing(5), new TicketKeyRing(5)];
    let changes = 0;
    control.onChange = () => changes++;
    control.rotate();
    control.rotate();
    worker.rotate();
    expect(changes).toBe(2);
    const [, hmac, aes, name] = control.callback(Buffer.alloc(16), Buffer.alloc(16), true) as unknown as [number, Buffer, Buffer, Buffer];
    expect(worker.callback(name, Buffer.alloc(16), false)[0]).toBe(0);
    worker.replace(control.export());
    expect(worker.callback(name, Buffer.alloc(16), false)).toEqual([1, hmac, aes]);
    expect(worker.export()).toEqual(control.export());
    expect(changes).toBe(2);
  });

  it('refuses a set for other listeners than the worker has, naming both counts', () => {
    const worker = proxyWithDNSCrypt();
    expect(() => applyWorkerKeys(worker, { dnscrypt: [], tls: [], doh: [] })).toThrow(
      /control plane has 0 DNSCrypt listener\(s\), this worker's configuration 1/,
    );
  });
});
