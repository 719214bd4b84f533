/**
 * A DNSCrypt v2 client for tests, written from the protocol on libsodium's
 * crypto_box (version 1) and our XChaCha20 construction (version 2): fetch
 * the provider's certificates in clear, send a boxed query over UDP or TCP,
 * open the boxed answer.
 */
import { createSocket } from 'node:dgram';
import net from 'node:net';
import * as dnsPacket from 'dns-packet';
import sodium from 'libsodium-wrappers';
import { decodeCertificate, verifyCertificate, type DNSCryptCertificate } from '@dnsdist-ts/dataplane/dnscrypt/dnscrypt-certificate.js';
import { xchachaBeforenm, xchachaOpen, xchachaSeal } from '@dnsdist-ts/dataplane/dnscrypt/dnscrypt-xchacha.js';

function udpExchange(port: number, data: Buffer): Promise<Buffer> {
  const s = createSocket('udp4');
  return new Promise<Buffer>((resolve, reject) => {
    s.once('message', (m) => resolve(m));
    s.once('error', reject);
    s.send(data, port, '127.0.0.1');
  }).finally(() => s.close());
}

/** One framed exchange on a connection of its own, closed once the answer is in. */
function tcpExchange(port: number, data: Buffer): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1');
    let got = Buffer.alloc(0);
    c.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) {
        c.end();
        resolve(got.subarray(2, 2 + got.readUInt16BE(0)));
      }
    });
    c.on('error', reject);
    // A listener over its connection limit closes without a word: that is an answer too (a failed one).
    c.on('close', () => reject(new Error(`the DNSCrypt TCP connection to port ${port} closed before an answer`)));
    const len = Buffer.alloc(2);
    len.writeUInt16BE(data.length);
    c.write(Buffer.concat([len, data]));
  });
}

/** The certificates `provider` offers on 127.0.0.1:`port`, each checked against the provider's public key. */
export async function fetchDNSCryptCertificates(
  port: number,
  provider: string,
  providerPublicKey: Uint8Array,
): Promise<DNSCryptCertificate[]> {
  await sodium.ready;
  const answer = dnsPacket.decode(
    await udpExchange(port, dnsPacket.encode({ type: 'query', id: 7, questions: [{ type: 'TXT', name: provider }] })),
  );
  return (answer.answers ?? []).map((rr) => {
    const cert = decodeCertificate(((rr as dnsPacket.TxtAnswer).data as Buffer[])[0]!);
    if (!verifyCertificate(cert, providerPublicKey)) throw new Error(`certificate ${cert.serial} is not signed by the provider`);
    return cert;
  });
}

/** A boxed A query for `name`; resolves with the opened answer (throws if it does not open or is not padded). */
export async function dnscryptQuery(port: number, cert: DNSCryptCertificate, name: string, tcp: boolean): Promise<dnsPacket.Packet> {
  await sodium.ready;
  const keys = sodium.crypto_box_keypair();
  const half = sodium.randombytes_buf(12);
  const query = dnsPacket.encode({ type: 'query', id: 0x4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name }] });
  const plain = Buffer.alloc(Math.max(256 - 68, query.length + 1 + ((64 - ((query.length + 1) % 64)) % 64)));
  query.copy(plain);
  plain[query.length] = 0x80;
  const nonce = Buffer.concat([half, Buffer.alloc(12)]);
  const v2key = cert.version === 2 ? xchachaBeforenm(cert.resolverPublicKey, keys.privateKey) : undefined;
  const box = v2key ? xchachaSeal(plain, nonce, v2key) : sodium.crypto_box_easy(plain, nonce, cert.resolverPublicKey, keys.privateKey);
  const packet = Buffer.concat([cert.clientMagic, keys.publicKey, half, box]);
  const answer = tcp ? await tcpExchange(port, packet) : await udpExchange(port, packet);
  if (!answer.subarray(8, 20).equals(Buffer.from(half))) throw new Error('the answer does not carry our half of the nonce');
  const opened = v2key
    ? xchachaOpen(answer.subarray(32), answer.subarray(8, 32), v2key)
    : Buffer.from(sodium.crypto_box_open_easy(answer.subarray(32), answer.subarray(8, 32), cert.resolverPublicKey, keys.privateKey));
  if (!opened) throw new Error('the answer box does not open');
  let end = opened.length - 1;
  while (opened[end] === 0) end--;
  if (opened[end] !== 0x80) throw new Error('the answer is not padded as DNSCrypt pads');
  return dnsPacket.decode(opened.subarray(0, end));
}
