import net from 'node:net';
import tls from 'node:tls';
import fc from 'fast-check';
import { MAX_CLIENT_HELLO_RECORD, peekClientHelloSni } from '@dnsdist-ts/dataplane/tls/client-hello-sni.js';

/** The first bytes a real TLS client (Node's OpenSSL) sends: its ClientHello record. */
async function clientHello(servername: string | undefined): Promise<Buffer> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const got = new Promise<Buffer>((resolve) =>
    server.once('connection', (s) => {
      let buf = Buffer.alloc(0);
      s.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 5 && buf.length >= 5 + buf.readUInt16BE(3)) {
          s.destroy();
          resolve(buf);
        }
      });
    }),
  );
  const client = tls.connect({ host: '127.0.0.1', port, ...(servername !== undefined ? { servername } : {}), rejectUnauthorized: false });
  client.on('error', () => undefined);
  const hello = await got;
  client.destroy();
  server.close();
  return hello;
}

describe('the SNI of a ClientHello, read before TLS', () => {
  it('finds the name a real client sends, and "" when it sends none', async () => {
    expect(peekClientHelloSni(await clientHello('dot.example.test'))).toEqual({ complete: true, serverName: 'dot.example.test' });
    expect(peekClientHelloSni(await clientHello(undefined))).toEqual({ complete: true, serverName: '' });
  });

  it('waits for the whole record: every proper prefix of a ClientHello is incomplete', async () => {
    const hello = await clientHello('prefix.test');
    for (let n = 0; n < hello.length; n++) expect(peekClientHelloSni(hello.subarray(0, n)).complete).toBe(false);
  });

  it('gives "" at once for bytes that are not a TLS handshake (plain DNS on the DoT port)', () => {
    expect(peekClientHelloSni(Buffer.from([0x00, 0x1d, 0x12, 0x34]))).toEqual({ complete: true, serverName: '' });
    expect(peekClientHelloSni(Buffer.from([0x47]))).toEqual({ complete: true, serverName: '' });
  });

  it('never throws and never waits past one maximal record on arbitrary bytes, corrupted ClientHellos included', async () => {
    const hello = await clientHello('fuzz.test');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(hello.length - 1), fc.nat(255), (junk, at, byte) => {
        const corrupted = Buffer.from(hello);
        corrupted[at] = byte;
        for (const b of [Buffer.from(junk), Buffer.concat([Buffer.from([0x16, 3, 1]), Buffer.from(junk)]), corrupted]) {
          const r = peekClientHelloSni(b);
          if (r.complete) expect(typeof r.serverName).toBe('string');
          else {
            expect(b.length === 0 || b[0] === 0x16).toBe(true);
            expect(b.length).toBeLessThan(MAX_CLIENT_HELLO_RECORD);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});
