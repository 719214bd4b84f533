/**
 * @dnsdist-ts/integrations: what talks to other systems: carbon export, CrowdSec, the fleet bus (Redis).
 * Deep imports name a folder: `@dnsdist-ts/integrations/<folder>/<file>.js` (package.json "exports").
 */
export {};
