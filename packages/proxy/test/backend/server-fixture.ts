/**
 * A real DownstreamServer for pure-logic policy tests: no sockets (its send
 * callbacks do nothing), marked up; tests set `outstanding` to stand for
 * queries in flight.
 */
import { parseAddressWithPort } from '@dnsdist-ts/dns';
import { DownstreamServer, type DownstreamServerConfig } from '../../src/backend/downstream-server.js';

export function policyTestServer(port: number, weight: number): DownstreamServer {
  const config = {
    address: parseAddressWithPort(`127.0.0.1:${port}`, 53),
    name: `s${port}`,
    pools: [],
    weight,
    order: 1,
    qps: 0,
    checkName: 'a.root-servers.net.',
    checkType: 1,
    checkClass: 1,
    checkInterval: 1,
    checkTimeout: 1000,
    maxCheckFailures: 1,
    rise: 1,
    mustResolve: false,
    tcpOnly: false,
    sockets: 1,
    maxInFlight: 0,
    id: `id-${port}`,
  } satisfies DownstreamServerConfig;
  const s = new DownstreamServer(
    config,
    () => undefined,
    () => undefined,
    () => true,
  );
  s.availability = 'up';
  return s;
}
