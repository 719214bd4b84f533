/**
 * @dnsdist-ts/web: the webserver, its API and dashboard, and the metrics (Prometheus exposition, carbon-style names).
 * Deep imports name a folder: `@dnsdist-ts/web/<folder>/<file>.js` (package.json "exports").
 */
export * from './metrics/index.js';
export * from './web/index.js';
