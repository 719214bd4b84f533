import type { LuaEnvironment } from './lua-environment.js';

/**
 * dnsdist's performance knobs for its threads and queues. dnsdist-ts runs
 * one event loop, so the thread counts have nothing to size; these calls
 * are accepted (and type-checked) so existing configurations load, and
 * each is listed with its effect in docs/compatibility.md.
 */
const NO_EFFECT_INTEGER = [
  'setMaxTCPQueuedConnections',
  'setUDPMultipleMessagesVectorSize',
  'setTCPInternalPipeBufferSize',
  'setSyslogFacility',
  'setTCPFastOpenKey',
];
const NO_EFFECT_BOOLEAN = ['fixupCase', 'setPreserveTrailingData', 'setRandomizedIdsOverUDP', 'setRandomizedOutgoingSockets'];

export function registerTuningBindings(env: LuaEnvironment): void {
  const rt = env.runtime;
  const settings = env.proxy.settings;
  for (const name of NO_EFFECT_INTEGER) {
    rt.registerFunction(name, (a) => {
      if (name === 'setTCPFastOpenKey' || name === 'setSyslogFacility') a.raw(0);
      else a.number(0);
    });
  }
  for (const name of NO_EFFECT_BOOLEAN) rt.registerFunction(name, (a) => void a.boolean(0));

  // The bounded-load factors of wrandom/whashed and chashed (BalancingFactors refuses what dnsdist refuses).
  rt.registerFunction('setWeightedBalancingFactor', (a) => {
    settings.balancingFactors.weighted = a.number(0);
  });
  rt.registerFunction('setConsistentHashingBalancingFactor', (a) => {
    settings.balancingFactors.consistentHashing = a.number(0);
  });
  // With data-plane workers: how many of them take TCP connections (dnsdist's TCP worker threads), fixed once they listen.
  rt.registerFunction('setMaxTCPClientThreads', (a) => {
    const n = a.integer(0);
    if (env.configOnly('setMaxTCPClientThreads')) settings.maxTCPClientThreads = n;
  });
  // The listeners' socket buffers, set before they bind: dnsdist's bound check and runtime refusal.
  rt.registerFunction('setUDPSocketBufferSizes', (a) => {
    const receive = a.integer(0);
    const send = a.integer(1);
    if (!env.configOnly('setUDPSocketBufferSizes')) return;
    settings.udpSocketBufferSizes.receive = socketBufferSize(env, receive);
    settings.udpSocketBufferSizes.send = socketBufferSize(env, send);
  });
  rt.registerFunction('setMaxTCPConnectionsPerClient', (a) => {
    settings.maxTCPConnectionsPerClient = a.integer(0);
  });
  rt.registerFunction('setMaxTCPQueriesPerConnection', (a) => {
    settings.maxTCPQueriesPerConnection = a.integer(0);
  });
  rt.registerFunction('setMaxTCPConnectionDuration', (a) => {
    settings.maxTCPConnectionDurationSeconds = a.integer(0);
  });
  rt.registerFunction('setTCPSendTimeout', (a) => {
    settings.tcpSendTimeoutSeconds = a.integer(0);
  });
  rt.registerFunction('setAddEDNSToSelfGeneratedResponses', (a) => {
    settings.addEDNSToSelfGeneratedResponses = a.boolean(0);
  });
  rt.registerFunction('setPayloadSizeOnSelfGeneratedAnswers', (a) => {
    const n = a.integer(0);
    if (n < 512 || n > 65535) env.fail(`setPayloadSizeOnSelfGeneratedAnswers: the payload size must be between 512 and 65535, got ${n}`);
    settings.payloadSizeOnSelfGeneratedAnswers = n;
  });
  rt.registerFunction('truncateTC', (a) => {
    settings.truncateTC = a.boolean(0);
  });
  rt.registerFunction('setAllowEmptyResponse', (a) => {
    settings.allowEmptyResponse = a.boolean(0);
  });
}

const UINT32_MAX = 0xffffffff;

/** A buffer size as dnsdist takes it: an unsigned 32-bit value, a negative one wrapped as the unsigned 64-bit it becomes there. */
function socketBufferSize(env: LuaEnvironment, n: number): number {
  if (n < 0 || n > UINT32_MAX) {
    const shown = n < 0 ? (2n ** 64n + BigInt(n)).toString() : String(n);
    env.fail(`The value (${shown}) passed to setUDPSocketBufferSizes is too large, the maximum is ${UINT32_MAX}`);
  }
  return n;
}
