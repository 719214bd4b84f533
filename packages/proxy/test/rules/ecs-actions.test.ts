/**
 * The EDNS Client Subnet actions set the query's switches (which the query
 * path reads when the query goes to a backend with useClientSubnet), with
 * dnsdist 1.7.3's showRules() texts (read from Debian's dnsdist 1.7.3:
 * "set ECS to 192.0.2.0/24 / 2001:db8::/56", "set ECS override to 1", …),
 * and their Lua names, the 1.7 ones with dnsdist's deprecation warning.
 */
import { Netmask } from '@dnsdist-ts/dns';
import { writeQueryClientSubnet } from '@dnsdist-ts/dataplane/query/client-subnet-option.js';
import { DNSAction } from '@dnsdist-ts/dataplane/query/dns-action.js';
import {
  RuleArgumentError,
  SetDisableECSAction,
  SetECSAction,
  SetECSOverrideAction,
  SetECSPrefixLengthAction,
} from '@dnsdist-ts/dataplane/rules/index.js';
import { startProxy } from '../support/proxy-harness.js';
import { makeQuery } from './query-fixture.js';

describe('EDNS Client Subnet actions', () => {
  it('SetDisableECSAction, SetECSOverrideAction and SetECSPrefixLengthAction set the switches and go on', () => {
    const v4 = makeQuery({ remote: '192.0.2.1' });
    const v6 = makeQuery({ remote: '2001:db8::1' });
    expect(new SetDisableECSAction().apply(v4)).toBe(DNSAction.None);
    expect(v4.useECS).toBe(false);
    new SetECSOverrideAction(true).apply(v4);
    expect(v4.ecsOverride).toBe(true);
    const prefix = new SetECSPrefixLengthAction(32, 128);
    prefix.apply(v4);
    prefix.apply(v6);
    expect([v4.ecsPrefixLength, v6.ecsPrefixLength]).toEqual([32, 128]);
    expect([new SetDisableECSAction(), new SetECSOverrideAction(true), new SetECSOverrideAction(false), prefix].map(String)).toEqual([
      'disable ECS',
      'set ECS override to 1',
      'set ECS override to 0',
      'set ECS prefix length to 32/128',
    ]);
    expect(() => new SetECSPrefixLengthAction(33, 56)).toThrow(RuleArgumentError);
    expect(() => new SetECSPrefixLengthAction(24, 129)).toThrow(/use 0 to 128/);
  });

  it('SetECSAction sends its subnet instead of the client address: v6 to IPv6 clients when given, v4 otherwise', () => {
    const both = new SetECSAction(Netmask.fromString('192.0.2.1/24'), Netmask.fromString('2001:db8::1/56'));
    const only = new SetECSAction(Netmask.fromString('198.51.100.9/32'));
    expect([String(both), String(only)]).toEqual(['set ECS to 192.0.2.0/24 / 2001:db8::/56', 'set ECS to 198.51.100.9/32']);
    const out = new Uint8Array(24);
    const v6 = makeQuery({ remote: '2001:db8:ffff::1' });
    both.apply(v6);
    expect(Buffer.from(out.subarray(0, writeQueryClientSubnet(v6, out)))).toEqual(
      Buffer.from([0, 8, 0, 11, 0, 2, 56, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0]),
    );
    only.apply(v6);
    expect(Buffer.from(out.subarray(0, writeQueryClientSubnet(v6, out)))).toEqual(Buffer.from([0, 8, 0, 8, 0, 1, 32, 0, 198, 51, 100, 9]));
    // Without an action: the client address at the query's prefix length.
    const plain = makeQuery({ remote: '203.0.113.77' });
    plain.ecsPrefixLength = 20;
    expect(Buffer.from(out.subarray(0, writeQueryClientSubnet(plain, out)))).toEqual(Buffer.from([0, 8, 0, 7, 0, 1, 20, 0, 203, 0, 112]));
  });

  it('registers the Lua names, warns on the 1.7 ones, refuses bad prefix lengths, and keeps the pool and server switches', async () => {
    const proxy = await startProxy(`setLocal("127.0.0.1:\${PORT}")
newServer{address="127.0.0.1:9", useClientSubnet=true, disableZeroScope=true, healthCheckMode="down"}
addAction(AllRule(), SetECSAction("192.0.2.1/24", "2001:db8::1/56"))
addAction(AllRule(), DisableECSAction())
addAction(AllRule(), ECSOverrideAction(false))
addAction(AllRule(), ECSPrefixLengthAction(16, 48))
`);
    try {
      const run = (cmd: string): string => proxy.app.runConsoleCommand(cmd);
      expect(proxy.output.join('\n')).toContain(
        'access to ECSPrefixLengthAction is deprecated and will be removed in a future version, please use SetECSPrefixLengthAction instead',
      );
      expect(run('showRules()')).toMatch(
        /set ECS to 192\.0\.2\.0\/24 \/ 2001:db8::\/56[\s\S]*disable ECS[\s\S]*set ECS override to 0[\s\S]*set ECS prefix length to 16\/48/,
      );
      expect(run('print(getPool(""):getECS())').trim()).toBe('false');
      run('getPool(""):setECS(true)');
      expect(run('print(getPool(""):getECS())').trim()).toBe('true');
      expect(proxy.app.proxy.servers[0]!.config).toMatchObject({ useClientSubnet: true, disableZeroScope: true });
      run('setECSSourcePrefixV4(20) setECSSourcePrefixV6(40) setECSOverride(true)');
      expect(proxy.app.proxy.settings).toMatchObject({ ecsSourcePrefixV4: 20, ecsSourcePrefixV6: 40, ecsOverride: true });
      expect(run('setECSSourcePrefixV4(33)')).toMatch(/between 0 and 32, got 33/);
      expect(run('SetECSAction("192.0.2.300/24")')).toMatch(/192\.0\.2\.300/);
      expect(proxy.app.proxy.settings.ecsSourcePrefixV4).toBe(20);
    } finally {
      await proxy.stop();
    }
  });
});
