/**
 * @dnsdist-ts/dynblocks: dynamic blocks: the rules over the rings, the block table, the per-query check, the kernel sink interface.
 * Deep imports name a folder: `@dnsdist-ts/dynblocks/<folder>/<file>.js` (package.json "exports").
 */
export * from './dynblocks/index.js';
