/**
 * The `dnsdist_ffi_stat_node_t *` a setSuffixMatchRuleFFI visitor gets:
 * one node of the response tree with its own and its subtree's counts, and
 * the reason the visitor may set when it returns true.
 */
import { lua, type LuaState } from 'fengari';
import type { StatNode, StatNodeStats } from '@dnsdist-ts/dynblocks/dynblocks/stat-node.js';
import { CData } from './ffi-cdata.js';
import type { FfiFunction, FfiModule } from './ffi-module.js';

export class FfiStatNode {
  node: StatNode | undefined;
  self: StatNodeStats | undefined;
  children: StatNodeStats | undefined;
  /** dnsdist_ffi_state_node_set_reason (dnsdist's spelling). */
  reason: string | undefined;

  attach(node: StatNode, self: StatNodeStats, children: StatNodeStats): void {
    this.node = node;
    this.self = self;
    this.children = children;
    this.reason = undefined;
  }

  detach(): void {
    this.node = undefined;
    this.self = undefined;
    this.children = undefined;
  }

  /** ffi.C's stat-node accessors. */
  static functions(): Map<string, FfiFunction> {
    const f = new Map<string, FfiFunction>();
    const at = (L: LuaState, ffi: FfiModule, fn: string): FfiStatNode => {
      const h = ffi.handleAt(L, 1, FfiStatNode, 'dnsdist_ffi_stat_node_t', fn);
      if (!h.node) throw new Error(`${fn}: this node is only valid during the visitor call that received it`);
      return h;
    };
    const counts: Record<string, keyof StatNodeStats> = {
      queries: 'queries',
      noerrors: 'noerrors',
      nxdomains: 'nxdomains',
      servfails: 'servfails',
      drops: 'drops',
    };
    for (const [name, key] of Object.entries(counts)) {
      f.set(`dnsdist_ffi_stat_node_get_${name}_count`, (L, ffi) => {
        lua.lua_pushnumber(L, at(L, ffi, `dnsdist_ffi_stat_node_get_${name}_count`).self![key]);
        return 1;
      });
      f.set(`dnsdist_ffi_stat_node_get_children_${name}_count`, (L, ffi) => {
        lua.lua_pushnumber(L, at(L, ffi, `dnsdist_ffi_stat_node_get_children_${name}_count`).children![key]);
        return 1;
      });
    }
    f.set('dnsdist_ffi_stat_node_get_bytes', (L, ffi) => {
      lua.lua_pushnumber(L, at(L, ffi, 'dnsdist_ffi_stat_node_get_bytes').self!.bytes);
      return 1;
    });
    f.set('dnsdist_ffi_stat_node_get_children_bytes_count', (L, ffi) => {
      lua.lua_pushnumber(L, at(L, ffi, 'dnsdist_ffi_stat_node_get_children_bytes_count').children!.bytes);
      return 1;
    });
    f.set('dnsdist_ffi_stat_node_get_labels_count', (L, ffi) => {
      lua.lua_pushinteger(L, at(L, ffi, 'dnsdist_ffi_stat_node_get_labels_count').node!.labelsCount);
      return 1;
    });
    f.set('dnsdist_ffi_stat_node_get_children_count', (L, ffi) => {
      lua.lua_pushinteger(L, at(L, ffi, 'dnsdist_ffi_stat_node_get_children_count').node!.numChildren);
      return 1;
    });
    f.set('dnsdist_ffi_stat_node_get_full_name_raw', (L, ffi) => {
      const fn = 'dnsdist_ffi_stat_node_get_full_name_raw';
      const name = Buffer.from(at(L, ffi, fn).node!.fullname, 'utf8');
      const cd = CData.cString(name);
      ffi.setOut(L, 2, cd, fn);
      ffi.setOut(L, 3, name.length, fn);
      return 0;
    });
    f.set('dnsdist_ffi_state_node_set_reason', (L, ffi) => {
      const fn = 'dnsdist_ffi_state_node_set_reason';
      const h = at(L, ffi, fn);
      h.reason = Buffer.from(ffi.bytesAt(L, 2, ffi.integerAt(L, 3, fn), fn)).toString('utf8');
      return 0;
    });
    return f;
  }
}
