/**
 * @dnsdist-ts/proxy: a dnsdist-compatible DNS proxy. The command line is
 * `dnsdist-ts` (src/cli/main.ts); this entry point exposes the pieces for
 * embedding and tests: the application (Lua config + proxy + console), the
 * proxy itself, the query path types, and the console.
 */
export { DnsdistApp, type AppOptions } from './app/dnsdist-app.js';
export { DnsdistProxy, ProxySettings, type RunningFrontend } from './server/dnsdist-proxy.js';
export { QueryProcessor } from './server/query-processor.js';
export { DownstreamServer, type DownstreamServerConfig } from './backend/downstream-server.js';
export { ServerPool } from './backend/server-pool.js';
export type { ServerPolicy } from './backend/policies/server-policy.js';
export { DNSQuestion, type Transport } from './query/dns-question.js';
export { DNSResponse } from './query/dns-response.js';
export { SocketAddress } from './query/client-address.js';
export { DNSAction, DNSResponseAction } from './query/dns-action.js';
export { QueryVerdict } from './query/query-verdict.js';
export type { RulesEngine, QueryRecorder, QueryCache, DynBlockCheck } from './query/query-collaborators.js';
export { ProxyCounters } from './stats/proxy-counters.js';
export { statsSnapshot, formatDumpStats, type StatEntry } from './stats/stats-snapshot.js';
export { ConsoleCommandCancelledError, LuaRuntime, type ConsoleCommandOptions, type ConsoleResultFormatter } from './lua/lua-runtime.js';
export { DEFAULT_CONSOLE_COMMAND_LIMITS, type ConsoleCommandLimits } from './lua/console-time-budget.js';
export { createUdpEndpoint } from './io/udp-endpoint-factory.js';
export type { UdpEndpoint, UdpEndpointOptions } from './io/udp-endpoint.js';
export { startDemoServer } from './demo/demo-authoritative-server.js';
export * from './console/index.js';
export * from './web/index.js';
export * from './metrics/index.js';
export * from './dynblocks/index.js';
export * from './ebpf/index.js';
export * from './rules/index.js';
export * from './cache/index.js';
export * from './rings/index.js';
export { VERSION } from './version.js';
