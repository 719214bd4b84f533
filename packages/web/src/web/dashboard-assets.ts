/**
 * The dashboard's files (src/web/dashboard/), served from memory. They are
 * found relative to the package root, which is two levels above this
 * module both as source (src/web/) and as build output (dist/web/), since
 * `tsc -b` does not copy non-TypeScript files into dist/.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Where the files are, for both src/web/*.ts and dist/web/*.js. */
export const DASHBOARD_DIR = fileURLToPath(new URL('../../src/web/dashboard/', import.meta.url));

/** One servable file. */
export interface DashboardAsset {
  readonly body: string;
  readonly contentType: string;
}

/** URL path → file name and type (dnsdist appends "; charset=utf-8" to these types too). */
const FILES: ReadonlyArray<readonly [string, string, string]> = [
  ['/', 'index.html', 'text/html; charset=utf-8'],
  ['/index.html', 'index.html', 'text/html; charset=utf-8'],
  ['/dashboard.js', 'dashboard.js', 'application/javascript; charset=utf-8'],
  ['/dashboard.css', 'dashboard.css', 'text/css; charset=utf-8'],
];

/** A dashboard file that is missing from the installation. */
export class DashboardAssetError extends Error {
  readonly input: string;
  constructor(file: string, cause: Error) {
    super(
      `the dashboard file ${file} cannot be read (${cause.message}): the package's src/web/dashboard/ directory must be installed next to dist/`,
    );
    this.name = new.target.name;
    this.input = file;
  }
}

/** The URL paths of the dashboard's files. */
export const DASHBOARD_PATHS: readonly string[] = FILES.map(([path]) => path);

let cache: Map<string, DashboardAsset> | undefined;

/** Every dashboard path with its content, read once. */
export function dashboardAssets(): ReadonlyMap<string, DashboardAsset> {
  if (cache) return cache;
  const out = new Map<string, DashboardAsset>();
  for (const [path, file, contentType] of FILES) {
    let body: string;
    try {
      body = readFileSync(`${DASHBOARD_DIR}${file}`, 'utf8');
    } catch (err) {
      throw new DashboardAssetError(`${DASHBOARD_DIR}${file}`, err as Error);
    }
    out.set(path, { body, contentType });
  }
  cache = out;
  return out;
}

/**
 * One file by URL path, read on first use.
 *
 * @throws DashboardAssetError when the installation lacks the files.
 */
export function dashboardAsset(path: string): DashboardAsset | undefined {
  return dashboardAssets().get(path);
}
