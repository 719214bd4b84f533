/**
 * Prints one plain closing line, "tests: N passed, N failed, N skipped",
 * that CI and humans can read without knowing jest's own format.
 *
 * Under REQUIRE_ALL=1 (CI, `.ci/run`) a skipped or todo test fails the run:
 * nothing may skip there, whether through a requirement (test/support/require.ts)
 * or a stray `.skip`/`.only`. A run filtered with -t is exempt, since jest
 * counts the tests it filtered out as skipped.
 */
export default class SummaryReporter {
  constructor(globalConfig) {
    this.filtered = Boolean(globalConfig?.testNamePattern);
    this.error = undefined;
  }

  onRunComplete(_contexts, results) {
    const { numPassedTests, numFailedTests, numPendingTests, numTodoTests, numRuntimeErrorTestSuites } = results;
    const failed = numFailedTests + numRuntimeErrorTestSuites;
    const skipped = numPendingTests + numTodoTests;
    process.stdout.write(`\ntests: ${numPassedTests} passed, ${failed} failed, ${skipped} skipped\n`);
    if (skipped > 0 && process.env.REQUIRE_ALL === '1' && !this.filtered) {
      this.error = new Error(`${skipped} test(s) skipped under REQUIRE_ALL=1, where nothing may skip`);
      process.stdout.write(`tests: FAILED: ${this.error.message}\n`);
    }
  }

  /** Jest fails the run when a reporter has an error. */
  getLastError() {
    return this.error;
  }
}
