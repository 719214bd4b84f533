/**
 * The requirement gate: the decision as a pure function over stand-in
 * requirements, then the jest wiring end to end, a child jest running
 * fixtures/gated.fixture.ts under each environment.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childJestArgs, repoRoot } from './child-jest.js';
import { gate, requirement, type RequirementScope } from './require.js';
import { debianPackagesNeeded } from './requirements.js';

const met = (scope: RequirementScope) => requirement(`met-${scope}`, scope, () => undefined);
const unmet = (scope: RequirementScope) => requirement(`unmet-${scope}`, scope, () => 'not here');

describe('gate: what happens to tests whose requirements were probed', () => {
  it('runs when every requirement is met, whatever the switches', () => {
    for (const env of [{}, { REQUIRE_BPF: '1' }, { REQUIRE_ALL: '1' }]) {
      expect(gate([met('bpf'), met('tool')], env)).toEqual({ action: 'run' });
      expect(gate([], env)).toEqual({ action: 'run' });
    }
  });

  it('skips an unmet requirement with its reason and the switch that would make it fail', () => {
    expect(gate([unmet('tool')], {})).toEqual({
      action: 'skip',
      message: 'needs unmet-tool: not here (REQUIRE_ALL=1 makes this a failure)',
    });
    expect(gate([met('tool'), unmet('bpf')], {})).toEqual({
      action: 'skip',
      message: 'needs unmet-bpf: not here (REQUIRE_BPF=1 makes this a failure)',
    });
  });

  it('REQUIRE_BPF=1 makes bpf requirements mandatory, not tools', () => {
    expect(gate([unmet('bpf')], { REQUIRE_BPF: '1' })).toEqual({
      action: 'fail',
      message: 'unmet-bpf is required (REQUIRE_BPF=1) but unavailable: not here',
    });
    expect(gate([unmet('tool')], { REQUIRE_BPF: '1' })).toMatchObject({ action: 'skip' });
    // One mandatory unmet requirement is enough to fail; the message names only the mandatory ones.
    expect(gate([unmet('tool'), unmet('bpf')], { REQUIRE_BPF: '1' })).toEqual({
      action: 'fail',
      message: 'unmet-bpf is required (REQUIRE_BPF=1) but unavailable: not here',
    });
  });

  it('REQUIRE_ALL=1 makes every requirement mandatory', () => {
    expect(gate([unmet('tool'), unmet('bpf')], { REQUIRE_ALL: '1' })).toEqual({
      action: 'fail',
      message:
        'unmet-tool is required (REQUIRE_ALL=1) but unavailable: not here; unmet-bpf is required (REQUIRE_ALL=1) but unavailable: not here',
    });
  });

  it('takes only "1" as on', () => {
    expect(gate([unmet('bpf')], { REQUIRE_BPF: '0', REQUIRE_ALL: 'yes' })).toMatchObject({ action: 'skip' });
  });

  it('probes once, and a probe that throws is an unmet requirement saying so', () => {
    let calls = 0;
    const counted = requirement('counted', 'tool', () => {
      calls++;
      return undefined;
    });
    gate([counted], {});
    gate([counted], {});
    expect(calls).toBe(1);
    const throwing = requirement('throwing', 'tool', () => {
      throw new Error('no such thing');
    });
    expect(gate([throwing], { REQUIRE_ALL: '1' })).toEqual({
      action: 'fail',
      message: 'throwing is required (REQUIRE_ALL=1) but unavailable: probing it threw: no such thing',
    });
  });
});

interface ChildRun {
  code: number;
  stdout: string;
  stderr: string;
  /** Each test's full name and status, from jest's --json results. */
  tests: Record<string, string>;
  /** The failure messages, joined. */
  failures: string;
}

/** Runs the fixture in a child jest with exactly these switches (the parent's REQUIRE_* are not inherited). */
function runFixture(env: Record<string, string>): Promise<ChildRun> {
  const dir = mkdtempSync(join(tmpdir(), 'dts-require-'));
  const outputFile = join(dir, 'results.json');
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const k of ['REQUIRE_BPF', 'REQUIRE_ALL'] as const) if (!(k in env)) delete childEnv[k];
  const args = childJestArgs(['--testMatch', '<rootDir>/test/support/fixtures/gated.fixture.ts', '--json', '--outputFile', outputFile]);
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd: repoRoot, env: childEnv, encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) => {
      try {
        const results = JSON.parse(readFileSync(outputFile, 'utf8')) as {
          testResults: Array<{ assertionResults: Array<{ fullName: string; status: string; failureMessages: string[] }> }>;
        };
        const assertions = results.testResults.flatMap((f) => f.assertionResults);
        resolve({
          code: typeof error?.code === 'number' ? error.code : error ? -1 : 0,
          stdout,
          stderr,
          tests: Object.fromEntries(assertions.map((a) => [a.fullName, a.status])),
          failures: assertions.flatMap((a) => a.failureMessages).join('\n'),
        });
      } catch (e) {
        reject(new Error(`the child jest left no results (${(e as Error).message}): ${stderr}`));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

/** Each child jest takes a few seconds on a loaded machine. */
const CHILD_TIMEOUT = 120_000;

describe('describeRequires, itRequires and partRequires in a child jest', () => {
  it(
    'run everything when the requirements are met',
    async () => {
      const r = await runFixture({});
      expect(r.tests).toEqual({
        'bpf block runs': 'passed',
        'tool block runs': 'passed',
        'plain block tool test': 'passed',
        'plain block has a tool part': 'passed',
      });
      expect(r.stderr).toContain('ran the tool part');
      expect(r.stdout).toContain('tests: 4 passed, 0 failed, 0 skipped');
      expect(r.code).toBe(0);
    },
    CHILD_TIMEOUT,
  );

  it(
    'skip with a one-line reason when a tool is missing and nothing is required, even under REQUIRE_BPF=1',
    async () => {
      const envs: Array<Record<string, string>> = [{}, { REQUIRE_BPF: '1' }];
      for (const env of envs) {
        const r = await runFixture({ FIXTURE_TOOL: 'missing', ...env });
        expect(r.tests).toEqual({
          'bpf block runs': 'passed',
          'tool block runs': 'pending',
          'plain block tool test': 'pending',
          'plain block has a tool part': 'passed',
        });
        expect(r.stderr).toContain(
          'skipping "tool block": needs stand-in-tool: the fixture withholds it (REQUIRE_ALL=1 makes this a failure)\n',
        );
        expect(r.stderr).toContain('skipping "tool test": needs stand-in-tool');
        expect(r.stderr).toContain('leaving out the tool part: needs stand-in-tool');
        expect(r.stderr).not.toContain('ran the tool part');
        expect(r.code).toBe(0);
      }
    },
    CHILD_TIMEOUT,
  );

  it(
    'fail a missing bpf requirement under REQUIRE_BPF=1, naming it and why',
    async () => {
      const r = await runFixture({ FIXTURE_BPF: 'missing', FIXTURE_TOOL: 'missing', REQUIRE_BPF: '1' });
      expect(r.tests).toMatchObject({ 'bpf block needs stand-in-bpf': 'failed', 'tool block runs': 'pending' });
      expect(r.failures).toContain('stand-in-bpf is required (REQUIRE_BPF=1) but unavailable: the fixture withholds it');
      expect(r.code).not.toBe(0);
    },
    CHILD_TIMEOUT,
  );

  it(
    'fail every missing requirement under REQUIRE_ALL=1, tools included',
    async () => {
      const r = await runFixture({ FIXTURE_TOOL: 'missing', REQUIRE_ALL: '1' });
      expect(r.tests).toEqual({
        'bpf block runs': 'passed',
        'tool block needs stand-in-tool': 'failed',
        'plain block tool test': 'failed',
        'plain block has a tool part': 'failed',
      });
      expect(r.failures).toContain('stand-in-tool is required (REQUIRE_ALL=1) but unavailable: the fixture withholds it');
      expect(r.failures).toContain('the tool part: stand-in-tool is required (REQUIRE_ALL=1)');
      expect(r.stdout).toContain('tests: 1 passed, 3 failed, 0 skipped');
      expect(r.code).not.toBe(0);
    },
    CHILD_TIMEOUT,
  );

  it(
    'the summary reporter fails a REQUIRE_ALL=1 run that skipped anything, even a stray it.skip',
    async () => {
      const stray = await runFixture({ FIXTURE_STRAY_SKIP: '1', REQUIRE_ALL: '1' });
      expect(stray.tests).toMatchObject({ 'plain block stray skip': 'pending' });
      expect(stray.failures).toBe('');
      expect(stray.stdout).toContain('tests: 4 passed, 0 failed, 1 skipped');
      expect(stray.stdout).toContain('tests: FAILED: 1 test(s) skipped under REQUIRE_ALL=1, where nothing may skip');
      expect(stray.code).not.toBe(0);
      // Without REQUIRE_ALL=1 the same skip is reported, not fatal.
      const relaxed = await runFixture({ FIXTURE_STRAY_SKIP: '1' });
      expect(relaxed.stdout).toContain('tests: 4 passed, 0 failed, 1 skipped');
      expect(relaxed.code).toBe(0);
    },
    CHILD_TIMEOUT,
  );
});

describe('the tool catalogue', () => {
  it('names only Debian packages that scripts/bootstrap.sh installs', () => {
    const script = readFileSync(join(repoRoot, 'scripts/bootstrap.sh'), 'utf8');
    const list = /^packages=\(\n([\s\S]*?)^\)/m.exec(script)?.[1] ?? '';
    const installed = new Set(list.split('\n').flatMap((line) => line.replace(/#.*/, '').trim().split(/\s+/).filter(Boolean)));
    expect(installed.size).toBeGreaterThan(10);
    expect(debianPackagesNeeded().filter((p) => !installed.has(p))).toEqual([]);
  });
});
