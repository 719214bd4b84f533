import { writeClientSubnetOption } from '@dnsdist-ts/dns';
import type { DNSQuestion } from './dns-question.js';

/** dnsdist's default source prefix lengths (setECSSourcePrefixV4 / V6). */
export const DEFAULT_ECS_PREFIX_V4 = 24;
export const DEFAULT_ECS_PREFIX_V6 = 56;

/**
 * Write the ECS option a query is to carry into `out` (at least
 * MAX_CLIENT_SUBNET_OPTION_SIZE bytes): SetECSAction's subnet when set,
 * else the client's address cut to the query's prefix length (which the
 * query path set from setECSSourcePrefixV4/V6 when the query arrived).
 * Returns the option's size. Allocates nothing.
 */
export function writeQueryClientSubnet(dq: DNSQuestion, out: Uint8Array): number {
  const subnet = dq.ecsSubnet;
  if (subnet) return writeClientSubnetOption(out, 0, subnet.address, subnet.bits);
  const remote = dq.remote;
  const bits = dq.ecsPrefixLength ?? (remote.family === 4 ? DEFAULT_ECS_PREFIX_V4 : DEFAULT_ECS_PREFIX_V6);
  return writeClientSubnetOption(out, 0, remote.bytes, bits);
}
