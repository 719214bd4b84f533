/**
 * ffi.C's functions: dnsdist 1.7's FFI interface (every function its
 * dnsdist-lua-ffi-interface.h exports, plus the stat-node accessors of
 * setSuffixMatchRuleFFI and the 1.8 dnsresponse TTL helpers), implemented
 * over the same ScriptView the Lua DNSQuestion objects use. Strings come
 * back as `const char *` cdata, sizes as plain numbers (LuaJIT gives 64-bit
 * cdata there; `tonumber()` of either works), NULL as nil.
 */
import { lua, type LuaState } from 'fengari';
import { HeaderFlag, RCODE_MASK, readFlags } from '@dnsdist-ts/dns';
import { ConsistentHashPolicy } from '@dnsdist-ts/dataplane/backend/policies/consistent-hash.js';
import { qnameHash } from '@dnsdist-ts/dataplane/backend/policies/qname-hash.js';
import type { BalancingFactors } from '@dnsdist-ts/dataplane/backend/policies/balancing-factors.js';
import { pickByWeightHash } from '@dnsdist-ts/dataplane/backend/policies/weighted-random.js';
import { SpoofAction } from '@dnsdist-ts/dataplane/rules/actions/spoof-action.js';
import { SpoofRawAction } from '@dnsdist-ts/dataplane/rules/actions/spoof-raw-action.js';
import type { ScriptView } from '@dnsdist-ts/dataplane/query/script-view.js';
import { CData, type StructValue } from './ffi-cdata.js';
import { FfiQuestion, FfiServer, FfiServersList } from './ffi-handles.js';
import type { FfiFunction, FfiModule } from './ffi-module.js';
import { FfiStatNode } from './ffi-stat-node.js';

const DQ = 'dnsdist_ffi_dnsquestion_t';

function question(L: LuaState, ffi: FfiModule, fn: string): ScriptView {
  return ffi.handleAt(L, 1, FfiQuestion, DQ, fn).view;
}

function pushInt(L: LuaState, n: number): number {
  lua.lua_pushinteger(L, n);
  return 1;
}

function pushNumber(L: LuaState, n: number): number {
  lua.lua_pushnumber(L, n);
  return 1;
}

function pushBool(L: LuaState, b: boolean): number {
  lua.lua_pushboolean(L, b);
  return 1;
}

/** Make the question's (or response's) packet `n` bytes long: cut, or grown with zeros. */
function resize(view: ScriptView, n: number, fn: string): void {
  if (n < 12 || n > 65535) throw new Error(`${fn}: ${n} is not a DNS message size (12 to 65535)`);
  const dr = view.response();
  const packet = view.packet();
  const target = packet.length >= n ? packet : Buffer.alloc(n);
  if (target !== packet) packet.copy(target, 0, 0, Math.min(view.packetLength(), n));
  else if (n > view.packetLength()) target.fill(0, view.packetLength(), n);
  if (dr) {
    dr.packet = target;
    dr.length = n;
    return;
  }
  const dq = view.question();
  dq.packet = target;
  dq.length = n;
  dq.view.parse(target, n);
}

function maskAddress(bytes: Uint8Array, bits: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    out[i]! &= keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff;
  }
  return out;
}

/** The functions, by name; `warn` reports the ones that cannot have an effect here (logged once each). */
export function dnsdistFfiFunctions(warn: (line: string) => void, factors: BalancingFactors): Map<string, FfiFunction> {
  const warned = new Set<string>();
  const once = (fn: string, why: string): void => {
    if (warned.has(fn)) return;
    warned.add(fn);
    warn(`${fn}: ${why} (logged once)`);
  };
  const f = new Map<string, FfiFunction>();
  const dq = (name: string, impl: (L: LuaState, ffi: FfiModule, v: ScriptView, fn: string) => number): void => {
    const fn = `dnsdist_ffi_dnsquestion_${name}`;
    f.set(fn, (L, ffi) => impl(L, ffi, question(L, ffi, fn), fn));
  };
  const unsupported = (fn: string, why: string): void => {
    f.set(fn, () => {
      throw new Error(`${fn} is not supported by dnsdist-ts: ${why}`);
    });
  };

  // ---- addresses and the question ----
  dq('get_localaddr', (L, ffi, v, fn) => {
    const a = v.question().local.bytes;
    ffi.setOut(L, 2, CData.bytes(a), fn);
    ffi.setOut(L, 3, a.length, fn);
    return 0;
  });
  dq('get_local_port', (L, _ffi, v) => pushInt(L, v.question().local.port));
  dq('get_remoteaddr', (L, ffi, v, fn) => {
    const a = v.question().remote.bytes;
    ffi.setOut(L, 2, CData.bytes(a), fn);
    ffi.setOut(L, 3, a.length, fn);
    return 0;
  });
  dq('get_masked_remoteaddr', (L, ffi, v, fn) => {
    const a = maskAddress(v.question().remote.bytes, ffi.integerAt(L, 4, fn));
    ffi.setOut(L, 2, CData.bytes(a), fn);
    ffi.setOut(L, 3, a.length, fn);
    return 0;
  });
  dq('get_remote_port', (L, _ffi, v) => pushInt(L, v.question().remote.port));
  dq('get_qname_raw', (L, ffi, v, fn) => {
    const q = v.question();
    // The name as the client wrote it (its case kept), root label included: ffi.string stops at that NUL.
    const wire = q.view.valid ? q.packet.subarray(q.view.qnameOffset, q.view.qnameOffset + q.view.qnameWireLength) : new Uint8Array(1);
    ffi.setOut(L, 2, CData.bytes(wire), fn);
    ffi.setOut(L, 3, wire.length, fn);
    return 0;
  });
  dq('get_qname_hash', (L, ffi, v, fn) => pushNumber(L, qnameHash(v.question().view.qname, ffi.integerAt(L, 2, fn) >>> 0)));
  dq('get_qtype', (L, _ffi, v) => pushInt(L, v.question().view.qtype));
  dq('get_qclass', (L, _ffi, v) => pushInt(L, v.question().view.qclass));
  dq('get_id', (L, _ffi, v) => pushInt(L, v.header.getID()));
  dq('get_rcode', (L, _ffi, v) => pushInt(L, readFlags(v.packet()) & RCODE_MASK));
  dq('get_header', (L, ffi, v) => {
    // The packet's own header bytes: writes through a cast pointer change the message, as in dnsdist.
    ffi.pushCData(L, new CData({ base: 'void', pointers: 1, array: undefined }, v.packet().subarray(0, 12), 0));
    return 1;
  });
  dq('get_len', (L, _ffi, v) => pushInt(L, v.packetLength()));
  dq('get_size', (L, _ffi, v) => pushInt(L, v.packetLength()));
  dq('set_size', (L, ffi, v, fn) => {
    resize(v, ffi.integerAt(L, 2, fn), fn);
    return pushBool(L, true);
  });
  dq('get_opcode', (L, _ffi, v) => pushInt(L, (readFlags(v.packet()) >> 11) & 0x0f));
  dq('get_tcp', (L, _ffi, v) => pushBool(L, v.question().transport === 'tcp'));
  dq('get_protocol', (L, _ffi, v) => pushInt(L, v.question().transport === 'tcp' ? 1 : 0));
  dq('get_skip_cache', (L, _ffi, v) => pushBool(L, v.question().skipCache));
  dq('get_use_ecs', (L, _ffi, v) => pushBool(L, v.question().useECS));
  dq('get_add_xpf', (L, _ffi, v) => pushBool(L, v.question().addXPF));
  dq('get_ecs_override', (L, _ffi, v) => pushBool(L, v.question().ecsOverride));
  dq('get_ecs_prefix_length', (L, _ffi, v) => pushInt(L, v.read('ecsPrefixLength') as number));
  dq('is_temp_failure_ttl_set', (L, _ffi, v) => pushBool(L, v.question().tempFailureTTL !== undefined));
  dq('get_temp_failure_ttl', (L, _ffi, v) => pushNumber(L, v.question().tempFailureTTL ?? 0));
  dq('get_do', (L, _ffi, v) => pushBool(L, v.getDO()));
  dq('get_sni', (L, ffi, v, fn) => {
    v.question();
    ffi.setOut(L, 2, CData.cString(''), fn);
    ffi.setOut(L, 3, 0, fn);
    return 0;
  });
  dq('get_tag', (L, ffi, v, fn) => {
    const value = v.getTag(Buffer.from(ffi.cStringAt(L, 2, fn)).toString('utf8'));
    if (value === undefined) lua.lua_pushnil(L);
    else ffi.pushCData(L, CData.cString(value));
    return 1;
  });
  dq('get_tag_raw', (L, ffi, v, fn) => {
    const value = v.getTag(Buffer.from(ffi.cStringAt(L, 2, fn)).toString('utf8'));
    if (value === undefined) return pushInt(L, 0);
    const bytes = Buffer.from(value, 'utf8');
    const size = ffi.integerAt(L, 4, fn);
    if (bytes.length > size) return pushInt(L, 0);
    const dst = ffi.cdataAt(L, 3);
    if (!dst || !(dst.store instanceof Uint8Array) || dst.store.length - dst.offset < size) {
      throw new Error(`${fn}: argument #3 must be a char buffer of at least ${size} bytes`);
    }
    dst.store.set(bytes, dst.offset);
    return pushInt(L, bytes.length);
  });
  const HTTP_PARTS = { path: 'getHTTPPath', query_string: 'getHTTPQueryString', host: 'getHTTPHost', scheme: 'getHTTPScheme' } as const;
  for (const [part, getter] of Object.entries(HTTP_PARTS)) {
    // NULL for a query that did not come over DoH, as dnsdist answers.
    dq(`get_http_${part}`, (L, ffi, v) => {
      if (v.question().http === undefined) lua.lua_pushnil(L);
      else ffi.pushCData(L, CData.cString(v[getter]()));
      return 1;
    });
  }
  dq('get_mac_addr', (L, _ffi, v) => {
    v.question();
    return pushInt(L, 0);
  });
  dq('get_elapsed_us', (L, _ffi, v) => pushNumber(L, Math.max(0, Math.round((performance.now() - v.question().receivedAt) * 1000))));
  dq('get_edns_options', (L, ffi, v, fn) => {
    const options: StructValue[] = [];
    for (const [code, values] of [...v.ednsOptions()].sort((a, b) => a[0] - b[0])) {
      for (const value of values) options.push({ optionCode: code, len: value.length, data: CData.bytes(value) });
    }
    if (options.length > 0) ffi.setOut(L, 2, ffi.structArray('dnsdist_ffi_ednsoption_t', options), fn);
    return pushInt(L, options.length);
  });
  dq('get_http_headers', (L, ffi, v, fn) => {
    const headers: StructValue[] = [];
    for (const [name, value] of v.getHTTPHeaders()) headers.push({ name: CData.cString(name), value: CData.cString(value) });
    if (headers.length > 0) ffi.setOut(L, 2, ffi.structArray('dnsdist_ffi_http_header_t', headers), fn);
    return pushInt(L, headers.length);
  });
  dq('get_tag_array', (L, ffi, v, fn) => {
    const tags: StructValue[] = [];
    for (const [name, value] of v.getTagArray()) tags.push({ name: CData.cString(name), value: CData.cString(value) });
    if (tags.length > 0) ffi.setOut(L, 2, ffi.structArray('dnsdist_ffi_tag_t', tags), fn);
    return pushInt(L, tags.length);
  });
  dq('get_trailing_data', (L, ffi, v, fn) => {
    const data = v.getTrailingData();
    ffi.setOut(L, 2, CData.bytes(data), fn);
    return pushInt(L, data.length);
  });

  // ---- setters ----
  f.set('dnsdist_ffi_dnsquestion_set_result', (L, ffi) => {
    const fn = 'dnsdist_ffi_dnsquestion_set_result';
    const h = ffi.handleAt(L, 1, FfiQuestion, DQ, fn);
    h.view.question();
    h.result = Buffer.from(ffi.bytesAt(L, 2, ffi.integerAt(L, 3, fn), fn)).toString('utf8');
    return 0;
  });
  dq('set_rcode', (L, ffi, v, fn) => {
    // As dnsdist: the message becomes a response too (QR), so HeaderModify answers it instead of forwarding it.
    v.write('rcode', ffi.integerAt(L, 2, fn) & 0x0f);
    v.header.setFlag(HeaderFlag.QR, true);
    return 0;
  });
  dq('set_len', (L, ffi, v, fn) => {
    resize(v, ffi.integerAt(L, 2, fn), fn);
    return 0;
  });
  dq('set_skip_cache', (L, ffi, v) => {
    v.question().skipCache = ffi.booleanAt(L, 2);
    return 0;
  });
  dq('set_use_ecs', (L, ffi, v) => {
    v.question().useECS = ffi.booleanAt(L, 2);
    return 0;
  });
  dq('set_ecs_override', (L, ffi, v) => {
    v.question().ecsOverride = ffi.booleanAt(L, 2);
    return 0;
  });
  dq('set_ecs_prefix_length', (L, ffi, v, fn) => {
    v.write('ecsPrefixLength', ffi.integerAt(L, 2, fn));
    return 0;
  });
  dq('set_temp_failure_ttl', (L, ffi, v, fn) => {
    v.write('tempFailureTTL', ffi.integerAt(L, 2, fn) >>> 0);
    return 0;
  });
  dq('unset_temp_failure_ttl', (_L, _ffi, v) => {
    v.question().tempFailureTTL = undefined;
    return 0;
  });
  dq('set_tag', (L, ffi, v, fn) => {
    v.setTag(Buffer.from(ffi.cStringAt(L, 2, fn)).toString('utf8'), Buffer.from(ffi.cStringAt(L, 3, fn)).toString('utf8'));
    return 0;
  });
  dq('set_tag_raw', (L, ffi, v, fn) => {
    const value = ffi.bytesAt(L, 3, ffi.integerAt(L, 4, fn), fn);
    v.setTag(Buffer.from(ffi.cStringAt(L, 2, fn)).toString('utf8'), Buffer.from(value).toString('utf8'));
    return 0;
  });
  for (const what of ['requestor_id', 'device_id', 'device_name']) {
    dq(`set_${what}`, (_L, _ffi, v, fn) => {
      v.question();
      once(fn, 'dnsdist-ts has no protobuf logging, which is where this value goes; nothing is recorded');
      return 0;
    });
  }
  dq('set_http_response', (L, ffi, v, fn) => {
    // (dq, statusCode, body, bodyLen, contentType): ignored for a query that did not come over DoH, as in dnsdist.
    if (v.question().http === undefined) return 0;
    const status = ffi.integerAt(L, 2, fn);
    const body = Buffer.from(ffi.bytesAt(L, 3, ffi.integerAt(L, 4, fn), fn));
    const contentType = lua.lua_isnoneornil(L, 5) ? '' : Buffer.from(ffi.cStringAt(L, 5, fn)).toString('utf8');
    v.setHTTPResponse(status, body, contentType);
    return 0;
  });
  dq('set_trailing_data', (L, ffi, v, fn) => {
    v.setTrailingData(ffi.bytesAt(L, 2, ffi.integerAt(L, 3, fn), fn));
    return pushBool(L, true);
  });
  dq('send_trap', (_L, _ffi, v, fn) => {
    v.question();
    once(fn, 'SNMP is not enabled in dnsdist-ts, no trap is sent');
    return 0;
  });
  dq('spoof_raw', (L, ffi, v, fn) => {
    const values = ffi.structsAt(L, 2, ffi.integerAt(L, 3, fn), 'dnsdist_ffi_raw_value_t', fn);
    const raw = values.map((r, i) => ffi.fieldBytes(r['value'], r['size'] as number, `${fn}: values[${i}].value`));
    new SpoofRawAction(raw).apply(v.question());
    return 0;
  });
  dq('spoof_addrs', (L, ffi, v, fn) => {
    const values = ffi.structsAt(L, 2, ffi.integerAt(L, 3, fn), 'dnsdist_ffi_raw_value_t', fn);
    const addrs = values.map((r, i) => ffi.fieldBytes(r['value'], r['size'] as number, `${fn}: values[${i}].value`));
    for (const [i, a] of addrs.entries()) {
      if (a.length !== 4 && a.length !== 16)
        throw new Error(`${fn}: values[${i}] has ${a.length} bytes, not an IPv4 (4) or IPv6 (16) address`);
    }
    new SpoofAction(addrs.map((a) => Uint8Array.from(a))).apply(v.question());
    return 0;
  });
  unsupported('dnsdist_ffi_dnsquestion_spoof_packet', 'a dnsdist 1.8 function; use dq:setContent() from a LuaAction');
  unsupported('dnsdist_ffi_dnsquestion_set_max_returned_ttl', 'a dnsdist 1.8 function not implemented yet');
  unsupported('dnsdist_ffi_dnsquestion_set_restartable', 'a dnsdist 1.8 function; queries are not restarted here');
  unsupported('dnsdist_ffi_dnsquestion_generate_proxy_protocol_payload', 'proxy protocol payloads are not generated by dnsdist-ts');

  // ---- server policies ----
  const list = (L: LuaState, ffi: FfiModule, fn: string): FfiServersList => {
    const l = ffi.handleAt(L, 1, FfiServersList, 'dnsdist_ffi_servers_list_t', fn);
    if (!l.attached) throw new Error(`${fn}: this servers list is only valid during the policy call that received it`);
    return l;
  };
  f.set('dnsdist_ffi_servers_list_get_count', (L, ffi) => pushInt(L, list(L, ffi, 'dnsdist_ffi_servers_list_get_count').servers.length));
  f.set('dnsdist_ffi_servers_list_get_server', (L, ffi) => {
    const fn = 'dnsdist_ffi_servers_list_get_server';
    const l = list(L, ffi, fn);
    const idx = ffi.integerAt(L, 2, fn);
    const server = l.servers[idx];
    if (server === undefined) throw new Error(`${fn}: index ${idx} is outside the list (0 to ${l.servers.length - 1})`);
    let h = l.handles[idx];
    if (h === undefined || h.server !== server) h = l.handles[idx] = new FfiServer(server);
    ffi.setOut(L, 3, CData.handle('dnsdist_ffi_server_t', h), fn);
    return 0;
  });
  // The chosen server's index, or the list's length (past the end: no server) when none is up.
  const ring = new ConsistentHashPolicy(factors);
  f.set('dnsdist_ffi_servers_list_chashed', (L, ffi) => {
    const fn = 'dnsdist_ffi_servers_list_chashed';
    const l = list(L, ffi, fn);
    ffi.handleAt(L, 2, FfiQuestion, DQ, fn);
    const chosen = ring.selectByHash(l.servers, ffi.integerAt(L, 3, fn) >>> 0);
    return pushInt(L, chosen ? l.servers.indexOf(chosen) : l.servers.length);
  });
  f.set('dnsdist_ffi_servers_list_whashed', (L, ffi) => {
    const fn = 'dnsdist_ffi_servers_list_whashed';
    const l = list(L, ffi, fn);
    ffi.handleAt(L, 2, FfiQuestion, DQ, fn);
    const h = ffi.integerAt(L, 3, fn) >>> 0;
    const chosen = pickByWeightHash(l.servers, h, factors.weighted);
    return pushInt(L, chosen ? l.servers.indexOf(chosen) : l.servers.length);
  });
  const server = (L: LuaState, ffi: FfiModule, fn: string) => ffi.handleAt(L, 1, FfiServer, 'dnsdist_ffi_server_t', fn).server;
  f.set('dnsdist_ffi_server_get_outstanding', (L, ffi) => pushInt(L, server(L, ffi, 'dnsdist_ffi_server_get_outstanding').outstanding));
  f.set('dnsdist_ffi_server_is_up', (L, ffi) => pushBool(L, server(L, ffi, 'dnsdist_ffi_server_is_up').isUp()));
  f.set('dnsdist_ffi_server_get_name', (L, ffi) => {
    ffi.pushCData(L, CData.cString(server(L, ffi, 'dnsdist_ffi_server_get_name').name));
    return 1;
  });
  f.set('dnsdist_ffi_server_get_name_with_addr', (L, ffi) => {
    const s = server(L, ffi, 'dnsdist_ffi_server_get_name_with_addr');
    ffi.pushCData(L, CData.cString(s.name === '' ? s.addressText : `${s.name} (${s.addressText})`));
    return 1;
  });
  f.set('dnsdist_ffi_server_get_weight', (L, ffi) => pushInt(L, server(L, ffi, 'dnsdist_ffi_server_get_weight').config.weight));
  f.set('dnsdist_ffi_server_get_order', (L, ffi) => pushInt(L, server(L, ffi, 'dnsdist_ffi_server_get_order').config.order));
  f.set('dnsdist_ffi_server_get_latency', (L, ffi) => pushNumber(L, server(L, ffi, 'dnsdist_ffi_server_get_latency').latencyUsec));

  // ---- responses (dnsdist 1.8's helpers; the handle is the same object) ----
  const dr = (name: string, impl: (v: ScriptView, L: LuaState, ffi: FfiModule, fn: string) => void): void => {
    const fn = `dnsdist_ffi_dnsresponse_${name}`;
    f.set(fn, (L, ffi) => {
      const v = ffi.handleAt(L, 1, FfiQuestion, 'dnsdist_ffi_dnsresponse_t', fn).view;
      if (!v.response()) throw new Error(`${fn}: the handle is a question, not a response (use it from LuaFFIResponseAction)`);
      impl(v, L, ffi, fn);
      return 0;
    });
  };
  const clampTTLs = (v: ScriptView, min: number, max: number): void =>
    v.editTTLs((_s, _c, _t, ttl) => (ttl < min ? min : ttl > max ? max : undefined));
  dr('set_min_ttl', (v, L, ffi, fn) => clampTTLs(v, ffi.integerAt(L, 2, fn) >>> 0, 0xffffffff));
  dr('set_max_ttl', (v, L, ffi, fn) => clampTTLs(v, 0, ffi.integerAt(L, 2, fn) >>> 0));
  dr('limit_ttl', (v, L, ffi, fn) => clampTTLs(v, ffi.integerAt(L, 2, fn) >>> 0, ffi.integerAt(L, 3, fn) >>> 0));
  unsupported('dnsdist_ffi_dnsresponse_set_max_returned_ttl', 'a dnsdist 1.8 function not implemented yet');
  unsupported('dnsdist_ffi_dnsresponse_clear_records_type', 'a dnsdist 1.8 function not implemented yet');
  unsupported('dnsdist_ffi_dnsresponse_rebase', 'a dnsdist 1.8 function not implemented yet');

  for (const [name, impl] of FfiStatNode.functions()) f.set(name, impl);
  return f;
}
