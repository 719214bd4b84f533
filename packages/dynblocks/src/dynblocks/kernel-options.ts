/**
 * How far dynamic blocks go into the kernel beyond what dnsdist does
 * (setDynBlocksKernelOptions). dnsdist only pushes single-address Drop and
 * Truncate blocks made by rule groups; these switches extend that.
 */
export interface KernelOptions {
  /** Range blocks (setMasks 24/64, addDynamicBlock with a mask) go to the cidr4/cidr6 maps. Default true. */
  readonly ranges: boolean;
  /** Suffix blocks (setSuffixMatchRule, addDynBlockSMT) go to the xdp-filter suffix map. Default true. */
  readonly suffixes: boolean;
  /**
   * When the kernel holds a block, the userspace copy stops acting on
   * queries that still reach the proxy (TCP, or packets the XDP program
   * let through); it stays listed and keeps its expiry (dnsdist issue
   * #12061). Default false: dnsdist's behaviour, the userspace block applies too.
   */
  readonly skipUserspace: boolean;
  /**
   * DNSAction.Allow is a block action meaning "pass in the kernel" (an XDP
   * allow-list entry, dnsdist issue #11618); in userspace it does nothing.
   * Default false: dnsdist's behaviour, where Allow is not a block action
   * and such a block drops.
   */
  readonly allowPass: boolean;
}

export const DEFAULT_KERNEL_OPTIONS: KernelOptions = Object.freeze({
  ranges: true,
  suffixes: true,
  skipUserspace: false,
  allowPass: false,
});
