/**
 * @dnsdist-ts/proxy: a dnsdist-compatible DNS proxy. The command line is
 * `dnsdist-ts` (src/cli/main.ts); this entry point exposes the pieces for
 * embedding and tests: the application (Lua config + proxy + console), the
 * proxy itself, the query path types, and the console.
 */
export { DnsdistApp, type AppOptions } from './app/dnsdist-app.js';
export { DnsdistProxy, ProxySettings, type RunningFrontend } from '@dnsdist-ts/dataplane/server/dnsdist-proxy.js';
export { QueryProcessor } from '@dnsdist-ts/dataplane/server/query-processor.js';
export { DownstreamServer, type DownstreamServerConfig } from '@dnsdist-ts/dataplane/backend/downstream-server.js';
export { ServerPool } from '@dnsdist-ts/dataplane/backend/server-pool.js';
export type { ServerPolicy } from '@dnsdist-ts/dataplane/backend/policies/server-policy.js';
export { DNSQuestion, type Transport } from '@dnsdist-ts/dataplane/query/dns-question.js';
export { DNSResponse } from '@dnsdist-ts/dataplane/query/dns-response.js';
export { SocketAddress } from '@dnsdist-ts/dataplane/query/client-address.js';
export { DNSAction, DNSResponseAction } from '@dnsdist-ts/dataplane/query/dns-action.js';
export { QueryVerdict } from '@dnsdist-ts/dataplane/query/query-verdict.js';
export type { RulesEngine, QueryRecorder, QueryCache, DynBlockCheck } from '@dnsdist-ts/dataplane/query/query-collaborators.js';
export { ProxyCounters } from '@dnsdist-ts/dataplane/stats/proxy-counters.js';
export { statsSnapshot, formatDumpStats, type StatEntry } from '@dnsdist-ts/dataplane/stats/stats-snapshot.js';
export {
  ConsoleCommandCancelledError,
  LuaRuntime,
  type ConsoleCommandOptions,
  type ConsoleResultFormatter,
} from '@dnsdist-ts/lua/lua/lua-runtime.js';
export { DEFAULT_CONSOLE_COMMAND_LIMITS, type ConsoleCommandLimits } from '@dnsdist-ts/lua/lua/console-time-budget.js';
export { createUdpEndpoint } from '@dnsdist-ts/dataplane/io/udp-endpoint-factory.js';
export type { UdpEndpoint, UdpEndpointOptions } from '@dnsdist-ts/dataplane/io/udp-endpoint.js';
export { startDemoServer } from './demo/demo-authoritative-server.js';
export * from '@dnsdist-ts/console/console/index.js';
export * from '@dnsdist-ts/web/web/index.js';
export * from '@dnsdist-ts/web/metrics/index.js';
export * from '@dnsdist-ts/dynblocks/dynblocks/index.js';
export * from '@dnsdist-ts/ebpf/ebpf/index.js';
export * from '@dnsdist-ts/dataplane/rules/index.js';
export * from '@dnsdist-ts/dataplane/cache/index.js';
export * from '@dnsdist-ts/dataplane/rings/index.js';
export { VERSION } from '@dnsdist-ts/dataplane/version.js';
