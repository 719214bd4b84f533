/**
 * A DoH backend that answers badly (status 500, a body that is not DNS, a
 * reset stream) next to good answers: each bad answer costs its query only
 * (no answer to the client, counted in drops); the connection stays for the
 * next queries, except after a reset stream, which dnsdist also takes as the
 * end of the connection (the query goes once more on a new one). The
 * backend is a real HTTP/2 server (node:http2, clear text with prior
 * knowledge) written for the test, as test_OutgoingDOH.py's broken-responses
 * responder is.
 */
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import * as dnsPacket from 'dns-packet';
import { tcpQuery, udpQuery } from '../support/dns-client.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';

describe('a DoH backend with broken answers', () => {
  let server: http2.Http2Server;
  let port: number;
  let proxy: RunningProxy;
  const seen: string[] = [];

  beforeAll(async () => {
    server = http2.createServer();
    server.on('stream', (stream, headers) => {
      const chunks: Buffer[] = [];
      // The stream this server resets reports its own reset as an error: expected here.
      stream.on('error', () => undefined);
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const query = dnsPacket.decode(Buffer.concat(chunks));
        const name = query.questions?.[0]?.name ?? '';
        seen.push(`${String(headers[':method'])} ${String(headers[':path'])} ${name}`);
        if (name === 'status-500.example') {
          stream.respond({ ':status': 500 });
          stream.end('Server error');
        } else if (name === 'junk.example') {
          stream.respond({ ':status': 200, 'content-type': 'application/dns-message' });
          stream.end('not DNS');
        } else if (name === 'reset.example') {
          stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
        } else {
          const answer = dnsPacket.encode({
            type: 'response',
            id: query.id,
            flags: dnsPacket.RECURSION_DESIRED,
            questions: query.questions,
            answers: [{ type: 'A', name, ttl: 60, data: '192.0.2.44' }],
          });
          stream.respond({ ':status': 200, 'content-type': 'application/dns-message' });
          stream.end(answer);
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    proxy = await startProxy(
      `setLocal("127.0.0.1:\${PORT}")
       newServer{address="127.0.0.1:${port}", dohPath="/dns-query", healthCheckMode="up"}`,
    );
  });
  afterAll(async () => {
    await proxy?.stop();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('drops the queries a 500, a non-DNS body or a reset stream answered, and answers the others', async () => {
    const backend = proxy.app.proxy.servers[0]!;
    expect((await udpQuery(proxy.port, 'ok1.example'))?.answers?.[0]?.data).toBe('192.0.2.44');
    for (const name of ['status-500.example', 'junk.example', 'reset.example']) {
      expect(await udpQuery(proxy.port, name, { timeoutMs: 1000 })).toBeUndefined();
    }
    await expect(tcpQuery(proxy.port, 'status-500.example', { timeoutMs: 1000 })).rejects.toThrow();
    expect((await tcpQuery(proxy.port, 'ok2.example')).answers?.[0]?.data).toBe('192.0.2.44');
    expect(seen).toEqual([
      'POST /dns-query ok1.example',
      'POST /dns-query status-500.example',
      'POST /dns-query junk.example',
      'POST /dns-query reset.example',
      'POST /dns-query reset.example',
      'POST /dns-query status-500.example',
      'POST /dns-query ok2.example',
    ]);
    expect(backend.counters.drops).toBe(4);
    expect(backend.counters.responses).toBe(2);
    // A 500 or a non-DNS body is not a broken connection: ok1, both and reset.example shared the first one.
    // A reset stream is (as for dnsdist): that connection takes nothing more, the query goes once
    // more on a new one (reset again, then lost), and the next query opens a third.
    expect(backend.counters.tcpNewConnections).toBe(3);
    expect(backend.counters.tcpReusedConnections).toBe(4);
    expect(backend.counters.tcpDiedReadingResponse).toBe(2);
  });
});
