/**
 * Runs in each jest worker before each test file (setupFilesAfterEnv): tells
 * the stall watchdog reporter (stall-watchdog-reporter.js) which file this
 * worker process is running, and arms Node's diagnostic report on SIGUSR2 so
 * the reporter can ask a stuck worker for its JavaScript and native stacks.
 *
 * Nothing happens when no watchdog directory exists for the parent process:
 * a file run in band (the jest process itself) has no watchdog to talk to.
 */
/* global expect -- jest's, in the test file's environment */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { watchDirectory } from './stall-watchdog-reporter.js';

const dir = watchDirectory(process.ppid);
const testPath = expect.getState().testPath;
if (testPath !== undefined && existsSync(dir)) {
  writeFileSync(join(dir, `worker-${process.pid}`), testPath);
  process.report.directory = dir;
  process.report.signal = 'SIGUSR2';
  process.report.reportOnSignal = true;
}
