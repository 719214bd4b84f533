/**
 * A listener that cannot bind says which configuration line asked for it:
 * each test occupies the port first (a real socket on loopback), then
 * starts the proxy on it.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListenError } from '@dnsdist-ts/dataplane/io/listen-error.js';
import { freePort, startProxy } from '../support/proxy-harness.js';

/** Hold a UDP or TCP port on `host` until released. */
async function occupy(protocol: 'udp' | 'tcp', host = '127.0.0.1'): Promise<{ port: number; release(): Promise<void> }> {
  if (protocol === 'udp') {
    const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve) => s.bind(0, host, () => resolve()));
    return { port: s.address().port, release: () => new Promise((resolve) => s.close(() => resolve())) };
  }
  // A TCP port whose UDP twin is free, so the proxy gets past its UDP socket.
  for (;;) {
    const port = await freePort();
    const server = net.createServer();
    const ok = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen({ host, port, exclusive: true }, () => resolve(true));
    });
    if (ok) return { port, release: () => new Promise((resolve) => server.close(() => resolve())) };
  }
}

async function startError(config: string, vars: Record<string, number>, options = {}): Promise<ListenError> {
  try {
    const p = await startProxy(config, vars, options);
    await p.stop();
  } catch (err) {
    if (err instanceof ListenError) return err;
    throw err;
  }
  throw new Error('the proxy started on an occupied port');
}

const IN_USE = 'address already in use (EADDRINUSE); another socket holds this address and port: stop it or choose another port';

describe('listener bind errors name the function and the address', () => {
  it('addLocal, UDP side', async () => {
    const busy = await occupy('udp');
    try {
      const e = await startError('addLocal("127.0.0.1:${BUSY}")', { BUSY: busy.port });
      expect(e.message).toBe(`addLocal("127.0.0.1:${busy.port}"): cannot listen on 127.0.0.1:${busy.port}/udp: ${IN_USE}`);
      expect(e).toMatchObject({ requestedBy: `addLocal("127.0.0.1:${busy.port}")`, protocol: 'udp', code: 'EADDRINUSE' });
    } finally {
      await busy.release();
    }
  });

  it('setLocal, TCP side, and IPv6 addresses in brackets', async () => {
    const busy = await occupy('tcp');
    try {
      const e = await startError('setLocal("127.0.0.1:${BUSY}")', { BUSY: busy.port });
      expect(e.message).toBe(`setLocal("127.0.0.1:${busy.port}"): cannot listen on 127.0.0.1:${busy.port}/tcp: ${IN_USE}`);
    } finally {
      await busy.release();
    }
    const busy6 = await occupy('udp', '::1');
    try {
      const e = await startError('addLocal("[::1]:${BUSY}")', { BUSY: busy6.port });
      expect(e.message).toBe(`addLocal("[::1]:${busy6.port}"): cannot listen on [::1]:${busy6.port}/udp: ${IN_USE}`);
    } finally {
      await busy6.release();
    }
  });

  it('-l on the command line', async () => {
    const busy = await occupy('udp');
    try {
      const e = await startError('', {}, { locals: [`127.0.0.1:${busy.port}`] });
      expect(e.message).toBe(`-l 127.0.0.1:${busy.port}: cannot listen on 127.0.0.1:${busy.port}/udp: ${IN_USE}`);
    } finally {
      await busy.release();
    }
  });

  it('controlSocket', async () => {
    const busy = await occupy('tcp');
    try {
      const e = await startError('setLocal("127.0.0.1:${PORT}")\ncontrolSocket("127.0.0.1:${BUSY}")', { BUSY: busy.port });
      expect(e.message).toBe(`controlSocket("127.0.0.1:${busy.port}"): cannot listen on 127.0.0.1:${busy.port}/tcp: ${IN_USE}`);
      expect(e.code).toBe('EADDRINUSE');
    } finally {
      await busy.release();
    }
  });

  it('addDNSCryptBind: the UDP side and the TCP side each named as such', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dts-listen-dnscrypt-'));
    const now = Math.floor(Date.now() / 1000);
    const config = (port: number): string => `generateDNSCryptProviderKeys("${dir}/p.pub", "${dir}/p.key")
generateDNSCryptCertificate("${dir}/p.key", "${dir}/r.cert", "${dir}/r.key", 1, ${now - 60}, ${now + 3600})
addDNSCryptBind("127.0.0.1:${port}", "2.provider.test", "${dir}/r.cert", "${dir}/r.key")`;
    try {
      for (const protocol of ['udp', 'tcp'] as const) {
        const busy = await occupy(protocol);
        try {
          const e = await startError(config(busy.port), {});
          expect(e.message).toBe(
            `addDNSCryptBind("127.0.0.1:${busy.port}"): cannot listen on 127.0.0.1:${busy.port}/${protocol}: ${IN_USE}`,
          );
        } finally {
          await busy.release();
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('webserver: logged, and the proxy carries on (as dnsdist)', async () => {
    const busy = await occupy('tcp');
    try {
      const p = await startProxy('setLocal("127.0.0.1:${PORT}")\nwebserver("127.0.0.1:${BUSY}")', { BUSY: busy.port });
      try {
        expect(p.app.web.server).toBeUndefined();
        expect(p.output).toContain(`webserver("127.0.0.1:${busy.port}"): cannot listen on 127.0.0.1:${busy.port}/tcp: ${IN_USE}`);
      } finally {
        await p.stop();
      }
    } finally {
      await busy.release();
    }
  });
});
