/**
 * The proxy's eBPF side: the default BPF filter and the KernelBlockSink
 * the dynamic-block engine pushes into, socket filters on the listeners,
 * and the contrib XDP filter attached for the life of the proxy.
 */
export { ProxyEbpf, type ProxyEbpfOptions } from './proxy-ebpf.js';
export { DefaultBpfFilterRegistry, type DefaultFilterListener } from './default-bpf-filter-registry.js';
export { BpfFilterKernelSink } from './bpf-filter-kernel-sink.js';
export { KernelInsertFailureLog, classifyInsertError, type KernelInsertFailureReason } from './kernel-insert-failure-log.js';
export { FrontendBind } from './frontend-bind.js';
export { XdpFilterDeployment, xdpPinDirOf, type XdpFilterRequest } from './xdp-filter-deployment.js';
export { EbpfSetupError } from './ebpf-setup-error.js';
export { monotonicNsFromPerformance, performanceFromMonotonicNs } from './monotonic-deadline.js';
export { bpfUnavailable } from './bpf-availability.js';
