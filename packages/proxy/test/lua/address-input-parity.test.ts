/**
 * newNMG():addMask through Debian's dnsdist 1.7.3 and through dnsdist-ts
 * (ip-num parsing): the same masks accepted with the same result, the same
 * bad input refused, and the few forms dnsdist is laxer about refused here
 * with an error naming the input (docs/configuration.md, "Addresses and
 * netmasks").
 */
import { loadConfigurationOutput } from '../support/proxy-harness.js';
import { describeDnsdist, dnsdistCheckConfig } from '../../../../test/support/dnsdist.js';

/** Both accept these with the same canonical mask. */
const SAME_ACCEPTED = [
  '192.0.2.1',
  '192.0.2.1/24', // host bits masked off: 192.0.2.0/24
  '0.0.0.0/0',
  '10.0.0.0/8',
  '!10.1.0.0/16',
  '2001:DB8::/32',
  '2001:db8::1',
  '2001:db8::1/64',
  '::/0',
  '::1',
  '::ffff:192.0.2.1',
  '::ffff:192.0.2.1/120',
  '64:ff9b::192.0.2.1',
  '1:2:3:4:5:6:1.2.3.4',
  '2001:0db8:0000:0000:0000:0000:0000:0001/128',
];

/** Both refuse these (leading zeros: inet_aton would read "010" as octal). */
const SAME_REFUSED = [
  '010.0.0.1',
  '10.0.0.01/8',
  '::ffff:010.0.0.1',
  '1.2.3',
  '256.0.0.1',
  '0x1.1.1.1',
  ' 192.0.2.1',
  '192.0.2.1 ',
  '192.0.2.1:53',
  '1::2::3',
  '12345::',
  'g::1',
  '',
];

/** dnsdist 1.7.3 accepts these; dnsdist-ts refuses them on purpose (documented). */
const REFUSED_HERE = [
  'fe80::1%eth0', // zone id: dropped silently by dnsdist
  '[2001:db8::1]', // brackets: an address with port, not a mask
  '[2001:db8::1]:53',
  '192.0.2.0/33', // clamped to /32 by dnsdist
  '2001:db8::/129',
  '192.0.2.0/', // read as /32 by dnsdist
  '10.0.0.0/+8',
];

const luaString = (s: string): string => JSON.stringify(s);

const config = (inputs: string[]): string => `
setLocal("127.0.0.1:0")
local inputs = { ${inputs.map(luaString).join(', ')} }
for i, s in ipairs(inputs) do
  local ok, r = pcall(function() local g = newNMG(); g:addMask(s); return g:toString() end)
  print("NMG " .. i .. " " .. tostring(ok) .. " " .. tostring(r))
end
`;

/** Result per input index: [accepted, mask text or error]. */
function results(output: string[], count: number): Map<number, [boolean, string]> {
  const map = new Map<number, [boolean, string]>();
  for (const line of output.join('\n').split('\n')) {
    const m = /^NMG (\d+) (true|false) (.*)$/.exec(line);
    // dnsdist 1.7.3's NMG:toString() starts with "NetmaskGroup "; only the masks are compared here.
    if (m) map.set(Number(m[1]), [m[2] === 'true', m[3]!.replace(/^NetmaskGroup /, '')]);
  }
  expect(map.size).toBe(count);
  return map;
}

const runOurs = loadConfigurationOutput;

describeDnsdist('newNMG():addMask input through dnsdist 1.7.3 and dnsdist-ts', () => {
  const inputs = [...SAME_ACCEPTED, ...SAME_REFUSED, ...REFUSED_HERE];
  let theirs: Map<number, [boolean, string]>;
  let ours: Map<number, [boolean, string]>;

  beforeAll(async () => {
    const r = dnsdistCheckConfig(config(inputs));
    expect(r.stdout).toContain('OK!');
    theirs = results(r.stdout.split('\n'), inputs.length);
    ours = results(await runOurs(config(inputs)), inputs.length);
  });

  const at = (s: string): number => inputs.indexOf(s) + 1;

  it('accepts the same masks, with the same canonical text (host bits cleared, IPv4-mapped kept IPv6)', () => {
    for (const s of SAME_ACCEPTED) {
      expect([s, theirs.get(at(s))![0]]).toEqual([s, true]);
      expect([s, ours.get(at(s))]).toEqual([s, theirs.get(at(s))]);
    }
  });

  it('refuses what dnsdist refuses, leading zeros included, naming the input', () => {
    for (const s of SAME_REFUSED) {
      expect([s, theirs.get(at(s))![0]]).toEqual([s, false]);
      const [ok, error] = ours.get(at(s))!;
      expect([s, ok]).toEqual([s, false]);
      expect(error).toContain(`"${s}"`);
    }
  });

  it('refuses the forms dnsdist is laxer about (zone ids, brackets, out-of-range or empty prefixes), naming the input', () => {
    for (const s of REFUSED_HERE) {
      expect([s, theirs.get(at(s))![0]]).toEqual([s, true]);
      const [ok, error] = ours.get(at(s))!;
      expect([s, ok]).toEqual([s, false]);
      expect(error).toContain(`"${s}"`);
    }
  });
});
