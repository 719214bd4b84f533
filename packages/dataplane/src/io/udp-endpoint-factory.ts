import { createDgramUdpEndpoint } from './dgram-udp-endpoint.js';
import { createNativeUdpEndpoint, nativeUdpAvailable } from './native-udp-endpoint.js';
import type { UdpEndpoint, UdpEndpointOptions } from './udp-endpoint.js';

/**
 * Open a UDP endpoint with the best available implementation: the native
 * batching addon when it is built ("auto"), or the one asked for. "native"
 * refuses to fall back, so a benchmark or a deployment can insist on it.
 */
export async function createUdpEndpoint(
  options: UdpEndpointOptions,
  preference: 'auto' | 'native' | 'dgram' = 'auto',
): Promise<UdpEndpoint> {
  if (preference === 'native' || (preference === 'auto' && nativeUdpAvailable())) {
    return createNativeUdpEndpoint(options);
  }
  return createDgramUdpEndpoint(options);
}
