/**
 * setUDPSocketBufferSizes' request for one socket: a set size is raised only, as dnsdist 1.7.3; an unset
 * side asks for the system's maximum, as dnsdist 1.9 (pure logic; the sockets themselves are in
 * e2e/udp-socket-buffer-sizes.test.ts).
 */
import { raisedBufferLines, readSystemUdpBufferDefaults, udpBufferRequest } from '@dnsdist-ts/dataplane/io/udp-socket-buffer-sizes.js';

const defaults = { receive: 212992, send: 212992 };
const withMax = { ...defaults, receiveMax: 4194304, sendMax: 1048576 };

describe('udpBufferRequest', () => {
  it('asks for a size above the socket default, as given', () => {
    expect(udpBufferRequest({ receive: 4194304, send: 1048576 }, defaults)).toEqual({
      receiveBufferSize: 4194304,
      sendBufferSize: 1048576,
      warnings: [],
      raisedReceive: 0,
      raisedSend: 0,
    });
  });

  it("leaves a size below the default alone, with dnsdist's warning for each", () => {
    expect(udpBufferRequest({ receive: 1000, send: 2000 }, defaults)).toEqual({
      receiveBufferSize: 0,
      sendBufferSize: 0,
      warnings: ['Not decreasing socket buffer size from 212992 to 1000', 'Not decreasing socket buffer size from 212992 to 2000'],
      raisedReceive: 0,
      raisedSend: 0,
    });
  });

  it('asks for the default itself (dnsdist only skips a smaller one), and nothing for 0', () => {
    expect(udpBufferRequest({ receive: 212992, send: 0 }, defaults)).toEqual({
      receiveBufferSize: 212992,
      sendBufferSize: 0,
      warnings: [],
      raisedReceive: 0,
      raisedSend: 0,
    });
  });

  it("asks for the system's maximum for a side left unset, and says so for the frontend (dnsdist 1.9's lines)", () => {
    const request = udpBufferRequest({ receive: 0, send: 0 }, withMax);
    expect(request).toEqual({
      receiveBufferSize: 4194304,
      sendBufferSize: 1048576,
      warnings: [],
      raisedReceive: 4194304,
      raisedSend: 1048576,
    });
    expect(raisedBufferLines(request, '192.0.2.1:53')).toEqual([
      "Raised send buffer to 1048576 for frontend address '192.0.2.1:53'",
      "Raised receive buffer to 4194304 for address '192.0.2.1:53'",
    ]);
  });

  it('raises only the unset side: a set size stays as given, even below the maximum', () => {
    const request = udpBufferRequest({ receive: 1048576, send: 0 }, withMax);
    expect(request).toMatchObject({ receiveBufferSize: 1048576, sendBufferSize: 1048576, raisedReceive: 0, raisedSend: 1048576 });
    expect(raisedBufferLines(request, '[2001:db8::1]:53')).toEqual([
      "Raised send buffer to 1048576 for frontend address '[2001:db8::1]:53'",
    ]);
  });

  it('raises nothing where the maximum is not above the default, or either is unknown', () => {
    for (const system of [
      { ...defaults, receiveMax: 212992, sendMax: 100000 },
      { ...defaults, receiveMax: undefined, sendMax: undefined },
      { receive: undefined, send: undefined, receiveMax: 4194304, sendMax: 4194304 },
    ]) {
      const request = udpBufferRequest({ receive: 0, send: 0 }, system);
      expect(request).toEqual({ receiveBufferSize: 0, sendBufferSize: 0, warnings: [], raisedReceive: 0, raisedSend: 0 });
      expect(raisedBufferLines(request, '127.0.0.1:53')).toEqual([]);
    }
  });

  it('asks as given when the default is unknown', () => {
    expect(udpBufferRequest({ receive: 1000, send: 1000 }, { receive: undefined, send: undefined }).receiveBufferSize).toBe(1000);
  });
});

describe('readSystemUdpBufferDefaults', () => {
  it('reads net.core.rmem_default, wmem_default and their maxima, and says undefined for what it cannot read', () => {
    const files: Record<string, string> = { '/proc/sys/net/core/rmem_default': '212992\n', '/proc/sys/net/core/wmem_max': '4194304\n' };
    const read = (path: string): string => {
      const text = files[path];
      if (text === undefined) throw new Error(`ENOENT: ${path}`);
      return text;
    };
    expect(readSystemUdpBufferDefaults(read)).toEqual({ receive: 212992, send: undefined, receiveMax: undefined, sendMax: 4194304 });
    files['/proc/sys/net/core/wmem_default'] = 'garbage';
    expect(readSystemUdpBufferDefaults(read)).toEqual({ receive: 212992, send: undefined, receiveMax: undefined, sendMax: 4194304 });
  });

  it("reads this machine's values", () => {
    const d = readSystemUdpBufferDefaults();
    expect(d.receive).toBeGreaterThan(0);
    expect(d.send).toBeGreaterThan(0);
    expect(d.receiveMax).toBeGreaterThan(0);
    expect(d.sendMax).toBeGreaterThan(0);
  });
});
