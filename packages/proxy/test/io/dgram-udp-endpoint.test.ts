/**
 * The dgram fallback endpoint against real loopback sockets: the parts that
 * differ from the native one (connecting to a peer).
 */
import { createSocket, type Socket } from 'node:dgram';
import { createDgramUdpEndpoint } from '@dnsdist-ts/dataplane/io/dgram-udp-endpoint.js';
import type { UdpEndpoint } from '@dnsdist-ts/dataplane/io/udp-endpoint.js';
import { waitFor } from '../support/dns-client.js';

describe('DgramUdpEndpoint', () => {
  const endpoints: UdpEndpoint[] = [];
  const sockets: Socket[] = [];

  async function peer(): Promise<{ socket: Socket; port: number; received: string[] }> {
    const socket = createSocket('udp4');
    sockets.push(socket);
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const received: string[] = [];
    socket.on('message', (m) => received.push(m.toString()));
    return { socket, port: socket.address().port, received };
  }

  afterEach(async () => {
    await Promise.all(endpoints.splice(0).map((ep) => ep.close()));
    for (const s of sockets.splice(0)) s.close();
  });

  it('connected to a peer: sends go to it whatever address they name, and datagrams from others never arrive', async () => {
    const a = await peer();
    const b = await peer();
    const ep = await createDgramUdpEndpoint({ address: '127.0.0.1', port: 0, connect: { address: '127.0.0.1', port: a.port } });
    endpoints.push(ep);
    const seen: string[] = [];
    ep.onDatagram((data, length, _from, fromPort) => seen.push(`${data.toString('latin1', 0, length)}:${fromPort}`));
    // Loopback delivers in send order: had b's datagram been accepted, it would come first.
    await new Promise((r) => b.socket.send('from b', ep.localPort, '127.0.0.1', r));
    await new Promise((r) => a.socket.send('from a', ep.localPort, '127.0.0.1', r));
    await waitFor("a's datagram", () => seen.length === 1);
    expect(seen).toEqual([`from a:${a.port}`]);
    ep.send(Buffer.from('reply'), 5, Uint8Array.of(127, 0, 0, 1), b.port);
    await waitFor('the reply at a', () => a.received.length === 1);
    expect(a.received).toEqual(['reply']);
    expect(b.received).toEqual([]);
  });

  it('refuses a peer it cannot connect to, with the address in the error', async () => {
    await expect(createDgramUdpEndpoint({ address: '127.0.0.1', port: 0, connect: { address: '127.0.0.1', port: 0 } })).rejects.toThrow(
      /cannot connect a UDP socket to 127\.0\.0\.1:0/,
    );
  });
});
