import { RuleArgumentError } from './rule-errors.js';

/**
 * Check that a numeric constructor argument is an integer in [0, max]; the
 * Lua layer hands numbers through as they are, and dnsdist would silently
 * truncate them into a narrower C++ type instead.
 *
 * @throws RuleArgumentError naming `parameter` otherwise.
 */
export function checkUint(parameter: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RuleArgumentError(parameter, value, `${parameter} must be an integer from 0 to ${max}, not ${String(value)}`);
  }
  return value;
}
