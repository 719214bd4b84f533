/**
 * Key material the control plane owns and every data-plane worker uses:
 * each addDNSCryptBind's resolver certificates with their private keys, and
 * the TLS session ticket keys of every DoT and DoH listener. Each worker
 * runs the configuration in its own Lua state, so left alone each would
 * make its own (generateAndLoadInMemoryCertificate, random ticket keys, a
 * rotation by time or in maintenance()) and a client would get a different
 * certificate, or a full handshake instead of a resumption, depending on
 * the worker that answered. Instead the control plane's keys are the ones
 * of record: a worker starts with them (WorkerStart.keys) and is sent the
 * whole set again after every change the control plane makes (console,
 * maintenance(), automatic ticket rotation, reloadAllCertificates), which
 * it takes in place of its own; the console's reply waits until every
 * worker says it has. Workers never rotate ticket keys themselves.
 */
import { DNSCryptCertificatePair } from '@dnsdist-ts/dataplane/dnscrypt/dnscrypt-context.js';
import { decodeCertificate } from '@dnsdist-ts/dataplane/dnscrypt/dnscrypt-certificate.js';
import type { DnsdistProxy } from '@dnsdist-ts/dataplane/server/dnsdist-proxy.js';
import { LatestDelivery } from './latest-delivery.js';

/** One resolver certificate as it travels to the workers. */
export interface DNSCryptPairKeys {
  /** The certificate's 124 wire bytes. */
  cert: Uint8Array;
  /** The resolver's X25519 private key. */
  key: Uint8Array;
  active: boolean;
}

/** The control plane's key material, by listener. */
export interface WorkerKeys {
  /** Per addDNSCryptBind (configuration order): its certificates, in order. */
  dnscrypt: DNSCryptPairKeys[][];
  /** Per addTLSLocal (tlsFrontendConfigs order): its ticket keys, newest first, 64 bytes each (TicketKeyRing.export). */
  tls: Uint8Array[][];
  /** Per addDOHLocal (dohFrontends order): its ticket keys as for tls, empty without TLS or tickets. */
  doh: Uint8Array[][];
}

/** The control plane's key material now. */
export function workerKeysOf(proxy: DnsdistProxy): WorkerKeys {
  return {
    dnscrypt: proxy.dnscryptBinds.map((b) =>
      b.context.pairs.map((p) => ({ cert: Uint8Array.from(p.wire), key: Uint8Array.from(p.privateKey), active: p.active })),
    ),
    tls: proxy.tlsFrontendConfigs.map((fc) => fc.tls.ticketKeys.export().map((k) => Uint8Array.from(k))),
    doh: proxy.dohFrontends.map((d) => (d.ownedTicketKeys ?? []).map((k) => Uint8Array.from(k))),
  };
}

/**
 * Worker side: take the control plane's key material in place of what this
 * worker's configuration made. Throws when the listeners do not match (the
 * configuration changed on disk between the two loads).
 */
export function applyWorkerKeys(proxy: DnsdistProxy, keys: WorkerKeys): void {
  const mismatch = (what: string, theirs: number, ours: number): Error =>
    new Error(`the control plane has ${theirs} ${what} listener(s), this worker's configuration ${ours}: restart the whole process`);
  if (keys.dnscrypt.length !== proxy.dnscryptBinds.length) throw mismatch('DNSCrypt', keys.dnscrypt.length, proxy.dnscryptBinds.length);
  if (keys.tls.length !== proxy.tlsFrontendConfigs.length) throw mismatch('DoT', keys.tls.length, proxy.tlsFrontendConfigs.length);
  if (keys.doh.length !== proxy.dohFrontends.length) throw mismatch('DoH', keys.doh.length, proxy.dohFrontends.length);
  proxy.tlsFrontendConfigs.forEach((fc, i) => fc.tls.followTicketKeys(keys.tls[i]!));
  proxy.dohFrontends.forEach((d, i) => d.followTicketKeys(keys.doh[i]!));
  proxy.dnscryptBinds.forEach((bind, i) => {
    const pairs = keys.dnscrypt[i]!.map((k) => {
      const pair = new DNSCryptCertificatePair(decodeCertificate(k.cert), Uint8Array.from(k.key));
      pair.active = k.active;
      return pair;
    });
    bind.context.replacePairs(pairs);
  });
}

/**
 * Control-plane side: sends the key material to the workers whenever it
 * changes, and says when every worker has it. Each message carries the
 * whole set, so only the latest one matters.
 */
export class WorkerKeyDistribution {
  readonly #proxy: DnsdistProxy;
  /** Posts to every worker there is now; returns their indexes. */
  readonly #post: (seq: number, keys: WorkerKeys) => number[];
  readonly #delivery = new LatestDelivery();

  constructor(proxy: DnsdistProxy, post: (seq: number, keys: WorkerKeys) => number[]) {
    this.#proxy = proxy;
    this.#post = post;
    for (const b of proxy.dnscryptBinds) b.context.onChange = () => this.send();
    for (const fc of proxy.tlsFrontendConfigs) fc.tls.ticketKeys.onChange = () => this.send();
    for (const d of proxy.dohFrontends) {
      d.ownTicketKeys();
      d.onTicketKeysChange = () => this.send();
    }
  }

  /** The set now, for a worker being started. */
  snapshot(): WorkerKeys {
    return workerKeysOf(this.#proxy);
  }

  /** Send the whole set to every worker (posted at once, so ahead of any later message to them). */
  send(): void {
    this.#delivery.send((seq) => this.#post(seq, workerKeysOf(this.#proxy)));
  }

  /** Worker `index` has taken the set numbered `seq`. */
  applied(index: number, seq: number): void {
    this.#delivery.applied(index, seq);
  }

  /** Worker `index` exited: nothing is waited for from it (its successor starts with the set of record). */
  gone(index: number): void {
    this.#delivery.gone(index);
  }

  /** Resolves once every worker has the latest set (or DELIVERY_GRACE_MS passed). */
  delivered(): Promise<void> {
    return this.#delivery.delivered();
  }
}
