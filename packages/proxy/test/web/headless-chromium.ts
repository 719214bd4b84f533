/**
 * A real headless Chromium (Debian's `chromium`, installed by bootstrap)
 * for the dashboard test, driven by playwright-core with that executable:
 * playwright's own browser downloads are never used.
 */
import { spawnSync } from 'node:child_process';
import { chromium } from 'playwright-core';
import { describeRequires, requirement } from '../../../../test/support/require.js';

export interface BrowserPage {
  goto(url: string): Promise<void>;
  /** Evaluate an expression in the page (promises are awaited); returns its JSON value. */
  evaluate<T>(expression: string): Promise<T>;
  /**
   * Resolve once `condition` (an expression) is truthy: checked on every
   * DOM change (a MutationObserver in the page), failing after `timeoutMs`.
   */
  waitFor(condition: string, timeoutMs: number): Promise<void>;
  screenshot(path: string): Promise<void>;
  close(): Promise<void>;
}

export interface LaunchOptions {
  /** HTTP basic-auth credentials for every request of the page. */
  credentials?: { username: string; password: string };
  width?: number;
  height?: number;
}

/** The browser binary, or undefined when Debian's chromium is not installed. */
export function chromiumPath(): string | undefined {
  for (const candidate of [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser']) {
    if (candidate && spawnSync(candidate, ['--version']).status === 0) return candidate;
  }
  return undefined;
}

const chromiumInstalled = requirement('chromium', 'tool', () =>
  chromiumPath() ? undefined : 'it is not installed (apt-get install chromium; scripts/bootstrap.sh installs it)',
);

/** `describe` for tests that drive Debian's Chromium (fails instead of skipping under REQUIRE_ALL=1). */
export function describeBrowser(name: string, fn: () => void): void {
  describeRequires(name, chromiumInstalled, fn);
}

/** The page-side wait: resolves when the condition holds, re-checking on DOM mutations. */
function waitExpression(condition: string, timeoutMs: number): string {
  return `new Promise((resolve, reject) => {
    const check = () => { try { return !!(${condition}); } catch { return false; } };
    if (check()) return resolve(true);
    const timer = setTimeout(() => { obs.disconnect(); reject(new Error('timed out waiting for: ' + ${JSON.stringify(condition)})); }, ${timeoutMs});
    const obs = new MutationObserver(() => { if (check()) { clearTimeout(timer); obs.disconnect(); resolve(true); } });
    obs.observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
  })`;
}

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check'];

export async function launchBrowser(options: LaunchOptions = {}): Promise<BrowserPage> {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error('chromium is not installed: apt-get install -y chromium');
  const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
  const context = await browser.newContext({
    ...(options.credentials ? { httpCredentials: options.credentials } : {}),
    viewport: { width: options.width ?? 1280, height: options.height ?? 1000 },
  });
  const page = await context.newPage();
  return {
    goto: async (url) => void (await page.goto(url)),
    evaluate: async <T>(expr: string) => (await page.evaluate(expr)) as T,
    waitFor: async (condition, timeoutMs) => void (await page.evaluate(waitExpression(condition, timeoutMs))),
    screenshot: async (path) => void (await page.screenshot({ path, fullPage: true })),
    close: () => browser.close(),
  };
}
