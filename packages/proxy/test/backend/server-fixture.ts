/**
 * A real DownstreamServer for pure-logic policy tests: no sockets, marked
 * up; tests set `outstanding` to stand for queries in flight. It is the
 * query-path fake (unit/query-path-fakes.ts) on a chosen port and weight.
 */
import type { DownstreamServer } from '@dnsdist-ts/dataplane/backend/downstream-server.js';
import { fakeDownstream } from '../unit/query-path-fakes.js';

export function policyTestServer(port: number, weight: number): DownstreamServer {
  return fakeDownstream({ port, weight });
}
