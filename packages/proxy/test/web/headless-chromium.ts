/**
 * A real headless Chromium (Debian's `chromium`) for the dashboard test.
 * It is driven by playwright-core when that package is installed; until
 * then by a minimal Chrome DevTools Protocol client over
 * `--remote-debugging-pipe` (the transport playwright itself uses), so
 * the test runs either way against the same browser.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';

export interface BrowserPage {
  /** Which driver runs the browser. */
  readonly driver: 'playwright-core' | 'cdp-pipe';
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
  const viaPlaywright = await launchWithPlaywright(executablePath, options);
  return viaPlaywright ?? launchWithCdpPipe(executablePath, options);
}

// ---- playwright-core ------------------------------------------------------

interface PlaywrightModule {
  chromium: {
    launch(o: { executablePath: string; args: string[] }): Promise<{
      newContext(o: object): Promise<{ newPage(): Promise<PlaywrightPage> }>;
      close(): Promise<void>;
    }>;
  };
}

interface PlaywrightPage {
  goto(url: string): Promise<unknown>;
  evaluate(expr: string): Promise<unknown>;
  screenshot(o: { path: string; fullPage: boolean }): Promise<unknown>;
}

async function launchWithPlaywright(executablePath: string, options: LaunchOptions): Promise<BrowserPage | undefined> {
  let pw: PlaywrightModule;
  try {
    // A variable name keeps TypeScript from requiring the package's types while it is not installed.
    const name = 'playwright-core';
    pw = (await import(name)) as PlaywrightModule;
  } catch {
    return undefined;
  }
  const browser = await pw.chromium.launch({ executablePath, args: CHROMIUM_ARGS });
  const context = await browser.newContext({
    ...(options.credentials ? { httpCredentials: options.credentials } : {}),
    viewport: { width: options.width ?? 1280, height: options.height ?? 1000 },
  });
  const page = await context.newPage();
  return {
    driver: 'playwright-core',
    goto: async (url) => void (await page.goto(url)),
    evaluate: async <T>(expr: string) => (await page.evaluate(expr)) as T,
    waitFor: async (condition, timeoutMs) => void (await page.evaluate(waitExpression(condition, timeoutMs))),
    screenshot: async (path) => void (await page.screenshot({ path, fullPage: true })),
    close: () => browser.close(),
  };
}

// ---- Chrome DevTools Protocol over a pipe -----------------------------------

interface CdpMessage {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { message: string };
  sessionId?: string;
}

class CdpPipe {
  readonly #out: Writable;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  readonly #listeners = new Set<(m: CdpMessage) => void>();
  #buffer = '';

  constructor(input: Readable, output: Writable) {
    this.#out = output;
    input.setEncoding('utf8');
    input.on('data', (chunk: string) => {
      this.#buffer += chunk;
      // Messages are NUL-terminated JSON.
      for (let end = this.#buffer.indexOf('\0'); end >= 0; end = this.#buffer.indexOf('\0')) {
        const msg = JSON.parse(this.#buffer.slice(0, end)) as CdpMessage;
        this.#buffer = this.#buffer.slice(end + 1);
        this.#dispatch(msg);
      }
    });
  }

  #dispatch(msg: CdpMessage): void {
    if (msg.id !== undefined) {
      const p = this.#pending.get(msg.id);
      this.#pending.delete(msg.id);
      if (msg.error) p?.reject(new Error(`CDP: ${msg.error.message}`));
      else p?.resolve(msg.result ?? {});
      return;
    }
    for (const l of this.#listeners) l(msg);
  }

  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    const id = this.#nextId++;
    this.#out.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    return new Promise((resolve, reject) => this.#pending.set(id, { resolve, reject }));
  }

  /** The next event `method` (of `sessionId`), as a promise. */
  once(method: string, sessionId: string): Promise<CdpMessage> {
    return new Promise((resolve) => {
      const l = (m: CdpMessage) => {
        if (m.method === method && m.sessionId === sessionId) {
          this.#listeners.delete(l);
          resolve(m);
        }
      };
      this.#listeners.add(l);
    });
  }

  failAll(err: Error): void {
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }
}

async function launchWithCdpPipe(executablePath: string, options: LaunchOptions): Promise<BrowserPage> {
  const profile = mkdtempSync(join(tmpdir(), 'dts-chromium-'));
  const width = options.width ?? 1280;
  const height = options.height ?? 1000;
  const child: ChildProcess = spawn(
    executablePath,
    [
      '--headless=new',
      ...CHROMIUM_ARGS,
      `--user-data-dir=${profile}`,
      `--window-size=${width},${height}`,
      '--remote-debugging-pipe',
      'about:blank',
    ],
    // Chromium reads commands on fd 3 and writes replies on fd 4.
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const cdp = new CdpPipe(child.stdio[4] as Readable, child.stdio[3] as Writable);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => cdp.failAll(new Error(`chromium exited:\n${stderr.slice(-2000)}`)));
  const cleanup = async (): Promise<void> => {
    if (child.exitCode === null) {
      cdp.send('Browser.close').catch(() => undefined);
      const forced = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(forced);
    }
    rmSync(profile, { recursive: true, force: true });
  };
  try {
    const { targetId } = (await cdp.send('Target.createTarget', { url: 'about:blank' })) as { targetId: string };
    const { sessionId } = (await cdp.send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
    const send = (method: string, params: Record<string, unknown> = {}) => cdp.send(method, params, sessionId);
    await send('Page.enable');
    await send('Network.enable');
    await send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false });
    if (options.credentials) {
      const token = Buffer.from(`${options.credentials.username}:${options.credentials.password}`).toString('base64');
      await send('Network.setExtraHTTPHeaders', { headers: { Authorization: `Basic ${token}` } });
    }
    const evaluate = async <T>(expression: string): Promise<T> => {
      const r = (await send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true })) as {
        result: { value?: unknown };
        exceptionDetails?: { exception?: { description?: string }; text: string };
      };
      if (r.exceptionDetails) throw new Error(r.exceptionDetails.exception?.description ?? r.exceptionDetails.text);
      return r.result.value as T;
    };
    return {
      driver: 'cdp-pipe',
      goto: async (url) => {
        const loaded = cdp.once('Page.loadEventFired', sessionId);
        const nav = (await send('Page.navigate', { url })) as { errorText?: string };
        if (nav.errorText) throw new Error(`navigation to ${url} failed: ${nav.errorText}`);
        await loaded;
      },
      evaluate,
      waitFor: async (condition, timeoutMs) => void (await evaluate(waitExpression(condition, timeoutMs))),
      screenshot: async (path) => {
        const { data } = (await send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true })) as { data: string };
        writeFileSync(path, Buffer.from(data, 'base64'));
      },
      close: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
