/**
 * fast-check arbitrary for DNS-valid names: 1 to 127 labels of 1 to 63
 * letters, digits or hyphens, cut to at most 255 wire bytes.
 */
import fc from 'fast-check';

/** Random DNS names; lower case only unless `mixedCase`. */
export function dnsNameArb({ mixedCase }: { mixedCase: boolean }): fc.Arbitrary<string> {
  const label = fc.stringMatching(mixedCase ? /^[a-zA-Z0-9-]{1,63}$/ : /^[a-z0-9-]{1,63}$/);
  return fc
    .array(label, { minLength: 1, maxLength: 127 })
    .map((ls) => {
      const out: string[] = [];
      let len = 1;
      for (const l of ls) {
        if (len + l.length + 1 > 255) break;
        out.push(l);
        len += l.length + 1;
      }
      return out.join('.');
    })
    .filter((n) => n.length > 0);
}
