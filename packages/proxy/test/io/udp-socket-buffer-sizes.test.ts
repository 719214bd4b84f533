/** setUDPSocketBufferSizes' request for one socket: raised only, as dnsdist 1.7.3 (pure logic; the sockets themselves are in e2e/udp-socket-buffer-sizes.test.ts). */
import { readSystemUdpBufferDefaults, udpBufferRequest } from '@dnsdist-ts/dataplane/io/udp-socket-buffer-sizes.js';

const defaults = { receive: 212992, send: 212992 };

describe('udpBufferRequest', () => {
  it('asks for a size above the socket default, as given', () => {
    expect(udpBufferRequest({ receive: 4194304, send: 1048576 }, defaults)).toEqual({
      receiveBufferSize: 4194304,
      sendBufferSize: 1048576,
      warnings: [],
    });
  });

  it("leaves a size below the default alone, with dnsdist's warning for each", () => {
    expect(udpBufferRequest({ receive: 1000, send: 2000 }, defaults)).toEqual({
      receiveBufferSize: 0,
      sendBufferSize: 0,
      warnings: ['Not decreasing socket buffer size from 212992 to 1000', 'Not decreasing socket buffer size from 212992 to 2000'],
    });
  });

  it('asks for the default itself (dnsdist only skips a smaller one), and nothing for 0', () => {
    expect(udpBufferRequest({ receive: 212992, send: 0 }, defaults)).toEqual({
      receiveBufferSize: 212992,
      sendBufferSize: 0,
      warnings: [],
    });
  });

  it('asks as given when the default is unknown', () => {
    expect(udpBufferRequest({ receive: 1000, send: 1000 }, { receive: undefined, send: undefined }).receiveBufferSize).toBe(1000);
  });
});

describe('readSystemUdpBufferDefaults', () => {
  it('reads net.core.rmem_default and wmem_default, and says undefined for what it cannot read', () => {
    const files: Record<string, string> = { '/proc/sys/net/core/rmem_default': '212992\n' };
    const read = (path: string): string => {
      const text = files[path];
      if (text === undefined) throw new Error(`ENOENT: ${path}`);
      return text;
    };
    expect(readSystemUdpBufferDefaults(read)).toEqual({ receive: 212992, send: undefined });
    files['/proc/sys/net/core/wmem_default'] = 'garbage';
    expect(readSystemUdpBufferDefaults(read)).toEqual({ receive: 212992, send: undefined });
  });

  it("reads this machine's values", () => {
    const d = readSystemUdpBufferDefaults();
    expect(d.receive).toBeGreaterThan(0);
    expect(d.send).toBeGreaterThan(0);
  });
});
