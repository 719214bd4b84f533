/**
 * @dnsdist-ts/ebpf: the BPF side: BPF filters, the XDP loader and its kernel sink (the only package that depends on contrib/xdp-filter).
 * Deep imports name a folder: `@dnsdist-ts/ebpf/<folder>/<file>.js` (package.json "exports").
 */
export * from './ebpf/index.js';
export { DEFAULT_PIN_DIR } from '@dnsdist-ts/xdp-filter';
