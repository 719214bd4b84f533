/**
 * The authorization matrix observed on dnsdist 1.7.3 (password "secret",
 * API key "apikey1"), which dnsdist-ts is held to and which the parity
 * test checks a running dnsdist against.
 */

/** path → expected status for: no credentials, good password, wrong password, good key, bad key. */
export const AUTH_MATRIX: ReadonlyArray<readonly [string, readonly [number, number, number, number, number]]> = [
  ['/metrics', [401, 200, 401, 200, 401]],
  ['/jsonstat?command=stats', [401, 200, 401, 200, 401]],
  ['/api/v1/servers/localhost', [401, 200, 401, 200, 401]],
  ['/api/v1/servers/localhost/statistics', [401, 401, 401, 200, 401]],
  ['/api/v1/servers/localhost/config', [401, 401, 401, 200, 401]],
  ['/api/v1/servers/localhost/config/allow-from', [401, 401, 401, 200, 401]],
  ['/api/v1/servers/localhost/pool?name=', [401, 401, 401, 200, 401]],
  ['/', [401, 200, 401, 401, 401]],
  ['/nothere', [401, 404, 401, 401, 401]],
  ['/api/v1/servers/localhost/nothere', [401, 401, 401, 404, 401]],
  ['/api/v1/foo', [401, 401, 401, 404, 401]],
];
