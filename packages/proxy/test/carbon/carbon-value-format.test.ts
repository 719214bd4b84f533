/**
 * Carbon values as dnsdist writes them: its doubles through C++'s default
 * ostream format (six significant digits, exponent form below 1e-4 and from 1e6).
 */
import { formatCarbonDouble } from '@dnsdist-ts/integrations/carbon/carbon-lines.js';

describe('formatCarbonDouble', () => {
  it.each([
    [0, '0'],
    [12.5, '12.5'],
    [0.1234567, '0.123457'],
    [999999, '999999'],
    [1234567, '1.23457e+06'],
    [123456789.0, '1.23457e+08'],
    [0.00001, '1e-05'],
    [0.0001234, '0.0001234'],
    [-3.25, '-3.25'],
    [2e21, '2e+21'],
  ])('writes %p as %s', (value, text) => {
    expect(formatCarbonDouble(value)).toBe(text);
  });
});
