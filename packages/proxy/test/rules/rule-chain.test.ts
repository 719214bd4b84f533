import {
  AllowAction,
  AllRule,
  DropAction,
  InvalidRuleUuidError,
  newRuleEntry,
  QNameRule,
  QTypeRule,
  RuleChain,
  RuleChainError,
  TCAction,
} from '@dnsdist-ts/dataplane/rules/index.js';
import type { QueryAction, Selector } from '@dnsdist-ts/dataplane/rules/rule-types.js';

const UUID = '123e4567-e89b-12d3-a456-426655440000';

function chainOf(...names: string[]): RuleChain<Selector, QueryAction> {
  const chain = new RuleChain<Selector, QueryAction>();
  for (const name of names) chain.add(new QNameRule(`${name}.example`), new DropAction(), { name });
  return chain;
}

const namesOf = (chain: RuleChain<Selector, QueryAction>): string[] => chain.rules.map((r) => r.name);

describe('RuleChain', () => {
  it('adds rules with a random or given UUID, a name and a creation order', () => {
    const chain = new RuleChain<Selector, QueryAction>();
    const a = chain.add(new AllRule(), new AllowAction());
    const b = chain.add(new AllRule(), new DropAction(), { name: 'block', uuid: `{${UUID.toUpperCase()}}` });
    expect(a.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(a.name).toBe('');
    expect(b.uuid).toBe(UUID);
    expect(b.name).toBe('block');
    expect(b.creationOrder).toBe(a.creationOrder + 1);
    expect(chain.size).toBe(2);
    expect(() => chain.add(new AllRule(), new DropAction(), { uuid: 'nope' })).toThrow(InvalidRuleUuidError);
  });

  it('never edits the array a walk may be iterating', () => {
    const chain = chainOf('a', 'b');
    const before = chain.rules;
    chain.add(new AllRule(), new AllowAction());
    chain.remove(0);
    expect(before.map((r) => r.name)).toEqual(['a', 'b']);
    expect(namesOf(chain)).toEqual(['b', '']);
  });

  it('removes by index, by UUID, or by name (every rule with it)', () => {
    const chain = chainOf('a', 'b', 'c', 'b');
    chain.remove(0);
    expect(namesOf(chain)).toEqual(['b', 'c', 'b']);
    chain.remove('b');
    expect(namesOf(chain)).toEqual(['c']);
    const uuid = chain.rules[0]!.uuid;
    chain.remove(uuid.toUpperCase());
    expect(chain.size).toBe(0);
  });

  it('refuses to remove what is not there, with dnsdist console texts', () => {
    const chain = chainOf('a');
    const byIndex = (() => {
      try {
        chain.remove(1);
      } catch (e) {
        return e;
      }
    })();
    expect(byIndex).toBeInstanceOf(RuleChainError);
    expect((byIndex as RuleChainError).consoleText).toBe('Error: attempt to delete non-existing rule');
    expect((byIndex as RuleChainError).input).toBe(1);
    expect(() => chain.remove('zzz')).toThrow(expect.objectContaining({ consoleText: 'Error: no rule matched' }));
    // A UUID is only looked up as a UUID, never as a name.
    chain.add(new AllRule(), new DropAction(), { name: UUID });
    expect(() => chain.remove(UUID)).toThrow(RuleChainError);
    expect(namesOf(chain)).toEqual(['a', UUID]);
  });

  it('moves the last rule to the top', () => {
    const chain = chainOf('a', 'b', 'c');
    chain.moveLastToTop();
    expect(namesOf(chain)).toEqual(['c', 'a', 'b']);
    new RuleChain().moveLastToTop();
  });

  it("moves rules with dnsdist's index arithmetic", () => {
    const cases: [number, number, string[]][] = [
      [0, 2, ['b', 'c', 'a']],
      [0, 3, ['b', 'c', 'a']],
      [0, 1, ['a', 'b', 'c']],
      [2, 0, ['c', 'a', 'b']],
      [1, 0, ['b', 'a', 'c']],
      [2, 1, ['a', 'c', 'b']],
      [1, 2, ['a', 'c', 'b']],
    ];
    for (const [from, to, expected] of cases) {
      const chain = chainOf('a', 'b', 'c');
      chain.move(from, to);
      expect([from, to, namesOf(chain)]).toEqual([from, to, expected]);
    }
    expect(() => chainOf('a', 'b').move(2, 0)).toThrow(
      expect.objectContaining({ consoleText: 'Error: attempt to move rules from/to invalid index' }),
    );
    expect(() => chainOf('a', 'b').move(0, 3)).toThrow(RuleChainError);
  });

  it('finds rules by index, UUID or name', () => {
    const chain = chainOf('a', 'b');
    const b = chain.rules[1]!;
    expect(chain.get(1)).toBe(b);
    expect(chain.get('b')).toBe(b);
    expect(chain.get(b.uuid)).toBe(b);
    expect(chain.get(5)).toBeUndefined();
    expect(chain.get('nope')).toBeUndefined();
  });

  it('replaces and clears all rules', () => {
    const chain = chainOf('a');
    const entry = newRuleEntry<Selector, QueryAction>(new QTypeRule(255), new TCAction(), { name: 'any' });
    entry.hits = 7;
    chain.setRules([entry]);
    expect(chain.rules).toEqual([entry]);
    chain.clear();
    expect(chain.size).toBe(0);
  });

  it('prints the showRules() table as dnsdist does', () => {
    const chain = new RuleChain<Selector, QueryAction>();
    chain.add(new QNameRule('evil.example'), new DropAction(), { name: 'block-evil' });
    const second = chain.add(new QTypeRule(255), new TCAction());
    second.hits = 12345;
    expect(chain.show()).toBe(
      '#   Name                             Matches Rule                                                     Action\n' +
        '0   block-evil                             0 qname==evil.example.                                     drop\n' +
        '1                                      12345 qtype==ANY                                               tc=1 answer\n',
    );
    expect(chain.show({ truncateRuleWidth: 5 }).split('\n')[1]).toBe(
      '0   block-evil                             0 qname                                                    drop',
    );
    expect(chain.show({ truncateRuleWidth: -1 })).toBe(chain.show());
  });

  it('adds the UUID and creation-order columns with showUUIDs', () => {
    const chain = new RuleChain<Selector, QueryAction>();
    const entry = chain.add(new AllRule(), new AllowAction(), { name: 'all', uuid: UUID });
    const lines = chain.show({ showUUIDs: true }).split('\n');
    expect(lines[0]).toBe(
      '#   Name                           UUID                                   Cr. Order   Matches Rule                                                     Action',
    );
    expect(lines[1]).toBe(
      `0   all                            ${UUID}   ${String(entry.creationOrder).padStart(9)}         0 All                                                      allow`,
    );
    expect(lines[2]).toBe('');
  });

  it('prints just the header for an empty chain', () => {
    expect(new RuleChain().show()).toBe(
      '#   Name                             Matches Rule                                                     Action\n',
    );
  });
});
