/**
 * @dnsdist-ts/console: the console protocol: server, client, encryption, settings (knows no Lua: the composition root hands it an evaluator).
 * Deep imports name a folder: `@dnsdist-ts/console/<folder>/<file>.js` (package.json "exports").
 */
export * from './console/index.js';
