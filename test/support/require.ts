/**
 * The one gate for tests that need something this machine may lack (the
 * kernel's BPF, root's network powers, a native addon, a Debian tool).
 * Where the requirement is met the tests run. Where it is not, they skip
 * with a one-line reason on a developer's machine, and fail with that
 * reason when the environment says the machine must have it:
 *
 * - `REQUIRE_BPF=1`: every requirement of scope 'bpf' is mandatory (the
 *   kernel's BPF and bpffs, root's network powers: namespaces, qdiscs,
 *   XDP loaders; the native addons `make` builds).
 * - `REQUIRE_ALL=1`: every requirement is mandatory, tools included
 *   (dnsdist, g++, chromium, …). `.ci/run` sets both, so CI can never go
 *   green by skipping, and the summary reporter fails a run that skipped.
 *
 * The decision is the pure function {@link gate}; the rest registers it
 * with jest.
 */

/** Which switch makes a requirement mandatory: 'bpf' by REQUIRE_BPF=1 or REQUIRE_ALL=1, 'tool' by REQUIRE_ALL=1 only. */
export type RequirementScope = 'bpf' | 'tool';

/** Something tests need from the machine, probed once per test file. */
export interface Requirement {
  /** What is needed, as messages name it: "BPF", "xdp-loader". */
  readonly what: string;
  readonly scope: RequirementScope;
  /** Why it is unavailable here (with how to get it), or undefined when it is available. Cached. */
  unavailable(): string | undefined;
}

/** Builds a requirement from a probe that returns why it is unmet, or undefined; the probe runs at most once. */
export function requirement(what: string, scope: RequirementScope, probe: () => string | undefined): Requirement {
  let cached: { reason: string | undefined } | undefined;
  return {
    what,
    scope,
    unavailable() {
      if (!cached) {
        let reason: string | undefined;
        try {
          reason = probe();
        } catch (err) {
          reason = `probing it threw: ${(err as Error).message}`;
        }
        cached = { reason };
      }
      return cached.reason;
    },
  };
}

/** The environment switches that make requirements mandatory. */
export interface RequireSwitches {
  REQUIRE_BPF?: string;
  REQUIRE_ALL?: string;
}

/** What to do with tests whose requirements were probed. */
export type Gate = { action: 'run' } | { action: 'fail'; message: string } | { action: 'skip'; message: string };

/** The switch that makes a requirement of this scope mandatory here, or undefined when none does. */
function mandatedBy(scope: RequirementScope, env: RequireSwitches): string | undefined {
  if (env.REQUIRE_ALL === '1') return 'REQUIRE_ALL=1';
  if (scope === 'bpf' && env.REQUIRE_BPF === '1') return 'REQUIRE_BPF=1';
  return undefined;
}

/**
 * Pure decision: run when every requirement is met; otherwise fail if an
 * unmet one is mandatory under `env`, else skip. The message names every
 * unmet requirement and why.
 */
export function gate(requirements: readonly Requirement[], env: RequireSwitches): Gate {
  const unmet = requirements.flatMap((r) => {
    const reason = r.unavailable();
    return reason === undefined ? [] : [{ r, reason }];
  });
  if (unmet.length === 0) return { action: 'run' };
  const mandatory = unmet.flatMap(({ r, reason }) => {
    const by = mandatedBy(r.scope, env);
    return by ? [`${r.what} is required (${by}) but unavailable: ${reason}`] : [];
  });
  if (mandatory.length > 0) return { action: 'fail', message: mandatory.join('; ') };
  const reasons = unmet.map(({ r, reason }) => `needs ${r.what}: ${reason}`).join('; ');
  const switchName = unmet.some(({ r }) => r.scope === 'bpf') ? 'REQUIRE_BPF=1' : 'REQUIRE_ALL=1';
  return { action: 'skip', message: `${reasons} (${switchName} makes this a failure)` };
}

const list = (needs: Requirement | readonly Requirement[]): readonly Requirement[] =>
  Array.isArray(needs) ? needs : [needs as Requirement];

function gateHere(needs: Requirement | readonly Requirement[]): Gate {
  return gate(list(needs), process.env);
}

/** `describe` for a block of tests that needs `needs`: runs, fails with the reason, or skips saying why. */
export function describeRequires(name: string, needs: Requirement | readonly Requirement[], fn: () => void): void {
  const g = gateHere(needs);
  if (g.action === 'run') {
    describe(name, fn);
  } else if (g.action === 'fail') {
    const message = g.message;
    const title = `needs ${list(needs)
      .map((r) => r.what)
      .join(', ')}`;
    describe(name, () => {
      it(title, () => {
        throw new Error(message);
      });
    });
  } else {
    process.stderr.write(`skipping "${name}": ${g.message}\n`);
    describe.skip(name, fn);
  }
}

/** `it` for one test that needs `needs` (the rest of its block does not): runs, fails with the reason, or skips saying why. */
export function itRequires(name: string, needs: Requirement | readonly Requirement[], fn: jest.ProvidesCallback, timeout?: number): void {
  const g = gateHere(needs);
  if (g.action === 'run') {
    it(name, fn, timeout);
  } else if (g.action === 'fail') {
    const message = g.message;
    it(name, () => {
      throw new Error(message);
    });
  } else {
    process.stderr.write(`skipping "${name}": ${g.message}\n`);
    it.skip(name, fn, timeout);
  }
}

/**
 * For one part of a test that needs `needs` (say, the same check against
 * dnsdist): true when the part can run; throws the reason when it is
 * mandatory; otherwise says on stderr that the part is left out and
 * returns false.
 */
export function partRequires(part: string, needs: Requirement | readonly Requirement[]): boolean {
  const g = gateHere(needs);
  if (g.action === 'run') return true;
  if (g.action === 'fail') throw new Error(`${part}: ${g.message}`);
  process.stderr.write(`leaving out ${part}: ${g.message}\n`);
  return false;
}
