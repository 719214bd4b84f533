/**
 * @dnsdist-ts/dataplane: the query path: frontends (UDP, TCP, DoT, DoH, DNSCrypt), backends and policies, rules and actions, packet cache, rings, counters, socket I/O and its native addon, the question/response types and the interfaces to the control plane.
 * Deep imports name a folder: `@dnsdist-ts/dataplane/<folder>/<file>.js` (package.json "exports").
 */
export * from './rules/index.js';
export * from './cache/index.js';
export * from './rings/index.js';
export * from './version.js';
