import { posixEreToJs } from '@dnsdist-ts/dataplane/rules/index.js';

describe('posixEreToJs', () => {
  it('expands POSIX character classes inside brackets', () => {
    expect(posixEreToJs('[[:digit:]]+')).toBe('[0-9]+');
    expect(posixEreToJs('[^[:alnum:]_]')).toBe('[^a-zA-Z0-9_]');
    const re = new RegExp(posixEreToJs('^[[:xdigit:]]{4}$'));
    expect(re.test('BEef')).toBe(true);
    expect(re.test('beeg')).toBe(false);
  });

  it('reads a leading ] and backslashes inside brackets literally, as POSIX does', () => {
    expect(new RegExp(posixEreToJs('^[]a]+$')).test(']a]')).toBe(true);
    const backslash = new RegExp(posixEreToJs('^[\\d]$'));
    expect(backslash.test('\\')).toBe(true);
    expect(backslash.test('d')).toBe(true);
    expect(backslash.test('5')).toBe(false);
  });

  it('leaves everything outside brackets alone', () => {
    expect(posixEreToJs('^(www|mail)\\.example\\.(com|net)$')).toBe('^(www|mail)\\.example\\.(com|net)$');
    expect(posixEreToJs('[[:nosuch:]]')).toBe('[\\[:nosuch:]]');
  });
});
