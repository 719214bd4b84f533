/**
 * The `ffi` compatibility module in a real Lua state (fengari): the cdata
 * forms dnsdist configurations use (out-parameter arrays and their casts,
 * struct arrays indexed from 0, char buffers), ffi.cdef of dnsdist-style
 * declarations, the dnsdist_ffi_* functions over real parsed queries, and
 * the errors for whatever the layer cannot do.
 */
import dnsPacket from 'dns-packet';
import { LuaRuntime, type LuaFunctionRef } from '@dnsdist-ts/lua/lua/lua-runtime.js';
import { registerConstants } from '@dnsdist-ts/lua/lua/bind-constants.js';
import { BalancingFactors } from '@dnsdist-ts/dataplane/backend/policies/balancing-factors.js';
import { dnsdistFfiFunctions } from '@dnsdist-ts/lua/lua/ffi/ffi-dnsdist-functions.js';
import { FfiModule } from '@dnsdist-ts/lua/lua/ffi/ffi-module.js';
import { FfiScriptCalls } from '@dnsdist-ts/lua/lua/ffi/ffi-script-calls.js';
import { ScriptCallError, ScriptResult } from '@dnsdist-ts/dataplane/rules/scripted/script-result.js';
import { DNSAction, DNSResponseAction } from '@dnsdist-ts/dataplane/query/dns-action.js';
import type { LuaBytes } from '@dnsdist-ts/lua/lua/lua-bytes.js';
import { decode, makeQuery, makeResponse } from '../../proxy/test/rules/query-fixture.js';
import type { DownstreamServer } from '@dnsdist-ts/dataplane/backend/downstream-server.js';

function setup() {
  const warnings: string[] = [];
  const rt = new LuaRuntime(() => {});
  registerConstants(rt);
  const calls = new FfiScriptCalls(
    new FfiModule(
      rt.L,
      dnsdistFfiFunctions((l) => warnings.push(l), new BalancingFactors()),
    ),
  );
  const fn = (code: string): LuaFunctionRef => rt.runString(`local ffi = require("ffi")\nreturn ${code}`)[0] as LuaFunctionRef;
  const run = (code: string): unknown[] => rt.runString(`local ffi = require("ffi")\n${code}`);
  return { rt, calls, fn, run, warnings };
}

/** A query for `name` with an OPT record carrying the given options. */
function queryWithOptions(name: string, options: Array<{ code: number; data: Buffer }>) {
  const packet = dnsPacket.encode({
    type: 'query',
    id: 7,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'A', name, class: 'IN' }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, options } as unknown as dnsPacket.Answer],
  });
  const dq = makeQuery({ name });
  dq.replacePacket(packet);
  return dq;
}

describe('ffi module: require and cdata', () => {
  it('require("ffi") gives the module in the state, with ffi.C holding dnsdist functions', () => {
    const { run } = setup();
    expect(run('return type(ffi), type(ffi.C.dnsdist_ffi_dnsquestion_get_qtype), ffi.os, ffi.arch')).toEqual([
      'table',
      'function',
      'Linux',
      'x64',
    ]);
  });

  it('char buffers: ffi.new("char[?]", n), ffi.copy, ffi.fill, ffi.string with and without a length, ffi.sizeof', () => {
    const { run } = setup();
    expect(
      run(`
        local buf = ffi.new("char[?]", 6)
        ffi.copy(buf, "hello")
        local a = ffi.string(buf)
        ffi.fill(buf, 2, 65)
        return a, ffi.string(buf), ffi.string(buf, 3), ffi.sizeof(buf), ffi.sizeof("uint16_t[4]"), ffi.sizeof("dnsdist_ffi_raw_value_t")`),
    ).toEqual(['hello', 'AAllo', 'AAl', 6, 8, 16]);
  });

  it('a one-element array cast to a pointer is the same cell: what is written through one is read through the other', () => {
    const { run } = setup();
    expect(
      run(`
        local n = ffi.new("size_t[1]")
        local p = ffi.cast("size_t*", n)
        p[0] = 42
        local t = ffi.typeof("uint8_t[?]")
        local bytes = t(3, {1, 2, 300})
        return n[0], bytes[2], tostring(t)`),
    ).toEqual([42, 44, 'ctype<uint8_t [?]>']);
  });

  it('struct arrays are indexed from 0; fields take numbers and Lua strings; metatype adds methods', () => {
    const { run } = setup();
    expect(
      run(`
        local r = ffi.new("dnsdist_ffi_raw_value_t [2]")
        r[1].value = "abc"
        r[1].size = 70000
        ffi.cdef[[ typedef struct point { int x; int y; } point_t; ]]
        local P = ffi.metatype("point_t", { __index = { sum = function(p) return p.x + p.y end } })
        local p = P({ x = 2, y = 3 })
        return ffi.string(r[1].value), r[1].size, r[0].size, r[0].value, p:sum()`),
    ).toEqual(['abc', 70000 % 65536, 0, undefined, 5]);
  });

  it('ffi.cdef accepts dnsdist-style declarations (typedefs, enums, prototypes with attributes) and refuses what it cannot read, naming it', () => {
    const { run } = setup();
    run(`ffi.cdef[[
      /* pasted from a configuration */
      typedef struct dnsdist_ffi_dnsquestion_t dnsdist_ffi_dnsquestion_t;
      typedef struct dnsdist_ffi_tag { const char* name; const char* value; } dnsdist_ffi_tag_t;
      typedef enum { my_first = 3, my_second } my_enum_t;
      size_t dnsdist_ffi_dnsquestion_get_tag_array(dnsdist_ffi_dnsquestion_t* ref, const dnsdist_ffi_tag_t** out) __attribute__ ((visibility ("default")));
      uint64_t dnsdist_ffi_stat_node_get_queries_count(const dnsdist_ffi_stat_node_t* node);
      int printf(const char *fmt, ...);
    ]]`);
    expect(run('return ffi.C.my_second')).toEqual([4]);
    expect(() => run('ffi.cdef[[ this is not C; ]]')).toThrow(/ffi\.cdef: cannot read 'this is not C'/);
    expect(() => run('ffi.cdef[[ int x(void) ]]')).toThrow(/does not end with ';'/);
    expect(() => run('ffi.C.printf("x")')).toThrow(/ffi\.C\.printf: declared with ffi\.cdef, but dnsdist-ts has no such C function/);
    expect(() => run('ffi.C.strlen("x")')).toThrow(/missing declaration for symbol 'strlen'/);
  });

  it('refuses what it cannot emulate without C memory, naming it', () => {
    const { run } = setup();
    expect(() => run('ffi.new("int", 5)')).toThrow(/boxed scalar \('int'\) is not supported; use a one-element array/);
    expect(() => run('ffi.cast("size_t*", ffi.new("char[4]"))')).toThrow(/holds bytes, which cannot be reinterpreted as 'size_t \*'/);
    expect(() => run('local a = ffi.new("int[2]") return a[2]')).toThrow(/index 2 is outside the 2 element\(s\)/);
    expect(() => run('ffi.new("struct nope[1]")')).toThrow(/unknown C type 'nope'/);
    expect(() => run('ffi.load("libc.so.6")')).toThrow(/cannot load C libraries/);
    expect(() => run('return #ffi.new("int[2]")')).toThrow(/attempt to get length of cdata<int \[2\]>/);
    expect(() => run('ffi.string(nil)')).toThrow(/ffi\.string: argument #1 must be a char pointer, got nil/);
  });
});

describe('ffi module: calls', () => {
  it('get_qname_raw gives the wire name as the client wrote it, root label included (ffi.string stops before it)', () => {
    const { rt, calls, fn } = setup();
    const rule = fn(`function(dq)
      local name_ptr = ffi.new("char *[1]")
      local size = ffi.new("size_t[1]")
      ffi.C.dnsdist_ffi_dnsquestion_get_qname_raw(dq, ffi.cast("const char **", name_ptr), ffi.cast("size_t*", size))
      local addr = ffi.new("const void *[1]")
      local alen = ffi.new("size_t[1]")
      ffi.C.dnsdist_ffi_dnsquestion_get_remoteaddr(dq, addr, alen)
      local masked = ffi.new("const void *[1]")
      ffi.C.dnsdist_ffi_dnsquestion_get_masked_remoteaddr(dq, masked, alen, 16)
      local C = ffi.C
      seen = { size[0], ffi.string(name_ptr[0]), C.dnsdist_ffi_dnsquestion_get_qtype(dq), C.dnsdist_ffi_dnsquestion_get_qclass(dq),
        C.dnsdist_ffi_dnsquestion_get_tcp(dq), C.dnsdist_ffi_dnsquestion_get_do(dq), C.dnsdist_ffi_dnsquestion_get_len(dq),
        C.dnsdist_ffi_dnsquestion_get_opcode(dq), C.dnsdist_ffi_dnsquestion_get_rcode(dq), ffi.string(addr[0], alen[0]),
        C.dnsdist_ffi_dnsquestion_get_remote_port(dq), ffi.string(masked[0], 4), C.dnsdist_ffi_dnsquestion_get_protocol(dq),
        C.dnsdist_ffi_dnsquestion_get_http_path(dq) == nil }
      return true
    end`);
    const dq = makeQuery({ name: 'WWW.Example.com', type: 'AAAA', edns: 'do', transport: 'tcp', remote: '198.51.100.7', remotePort: 4242 });
    expect(calls.callRule(rule, dq, undefined)).toBe(true);
    const seen = rt.runString('return table.unpack(seen)');
    expect(seen.slice(0, 9)).toEqual([17, '\x03WWW\x07Example\x03com', 28, 1, true, true, dq.length, 0, 0]);
    expect([...(seen[9] as LuaBytes).bytes]).toEqual([198, 51, 100, 7]);
    expect(seen[10]).toBe(4242);
    expect([...(seen[11] as LuaBytes).bytes]).toEqual([198, 51, 0, 0]);
    expect(seen.slice(12)).toEqual([1, true]);
  });

  it('EDNS options come back as a dnsdist_ffi_ednsoption_t array indexed from 0, grouped by code; none: count 0, out untouched', () => {
    const { rt, calls, fn } = setup();
    const rule = fn(`function(dq)
      local out = ffi.new("const dnsdist_ffi_ednsoption_t *[1]")
      local n = tonumber(ffi.C.dnsdist_ffi_dnsquestion_get_edns_options(dq, ffi.cast("const dnsdist_ffi_ednsoption_t **", out)))
      seen = { n }
      for i = 0, n - 1 do
        local o = out[0][i]
        seen[#seen + 1] = o.optionCode .. ":" .. o.len .. ":" .. ffi.string(o.data, o.len)
      end
      seen[#seen + 1] = out[0] == nil
      return true
    end`);
    const dq = queryWithOptions('opts.test', [
      { code: 10, data: Buffer.from('cookie01') },
      { code: 8, data: Buffer.from([0, 1, 24, 0, 192, 0, 2]) },
      { code: 10, data: Buffer.from('cookie02') },
    ]);
    calls.callRule(rule, dq, undefined);
    const seen = rt.runString('return table.unpack(seen)');
    expect([...(seen[1] as LuaBytes).bytes]).toEqual([...Buffer.from('8:7:'), 0, 1, 24, 0, 192, 0, 2]);
    expect([seen[0], ...seen.slice(2)]).toEqual([3, '10:8:cookie01', '10:8:cookie02', false]);
    calls.callRule(rule, makeQuery({ name: 'plain.test' }), undefined);
    expect(rt.runString('return table.unpack(seen)')).toEqual([0, true]);
  });

  it('tags: set, get (nil when absent), the dnsdist_ffi_tag_t array', () => {
    const { rt, calls, fn } = setup();
    const action = fn(`function(dq)
      ffi.C.dnsdist_ffi_dnsquestion_set_tag(dq, "colour", "blue")
      ffi.C.dnsdist_ffi_dnsquestion_set_tag_raw(dq, "shape", "roundish", 5)
      local tags = ffi.new("const dnsdist_ffi_tag_t *[1]")
      local n = ffi.C.dnsdist_ffi_dnsquestion_get_tag_array(dq, tags)
      seen = { n, ffi.string(ffi.C.dnsdist_ffi_dnsquestion_get_tag(dq, "colour")), ffi.C.dnsdist_ffi_dnsquestion_get_tag(dq, "nope") == nil,
        ffi.string(tags[0][1].name) .. "=" .. ffi.string(tags[0][1].value) }
      return DNSAction.None
    end`);
    const dq = makeQuery();
    calls.callAction(action, dq, new ScriptResult());
    expect(rt.runString('return table.unpack(seen)')).toEqual([2, 'blue', true, 'shape=round']);
    expect(dq.getTag('colour')).toBe('blue');
  });

  it('set_result is the string LuaFFIAction returns with its code; set_rcode writes the RCODE and sets QR', () => {
    const { calls, fn } = setup();
    const action = fn(`function(dq)
      local str = "192.0.2.1"
      local buf = ffi.new("char[?]", #str + 1)
      ffi.copy(buf, str)
      ffi.C.dnsdist_ffi_dnsquestion_set_result(dq, buf, #str)
      ffi.C.dnsdist_ffi_dnsquestion_set_rcode(dq, DNSRCode.REFUSED)
      return DNSAction.Spoof
    end`);
    const dq = makeQuery();
    const out = new ScriptResult();
    calls.callAction(action, dq, out);
    expect(out.code).toBe(DNSAction.Spoof);
    expect(out.text).toBe('192.0.2.1');
    expect(dq.packet[3]! & 0x0f).toBe(5);
    // dnsdist's set_rcode makes the message a response too.
    expect(dq.packet[2]! & 0x80).toBe(0x80);
  });

  it('spoof_raw answers with the raw record data of a dnsdist_ffi_raw_value_t array; spoof_addrs with addresses', () => {
    const { calls, fn } = setup();
    const raw = fn(`function(dq)
      local records = ffi.new("dnsdist_ffi_raw_value_t [2]")
      records[0].value = "\\192\\000\\002\\001"
      records[0].size = 4
      records[1].value = "\\192\\000\\002\\255"
      records[1].size = 4
      ffi.C.dnsdist_ffi_dnsquestion_spoof_raw(dq, records, 2)
      return DNSAction.HeaderModify
    end`);
    const dq = makeQuery({ name: 'raw.test' });
    calls.callAction(raw, dq, new ScriptResult());
    expect(
      decode(dq.bytes())
        .answers.map((a) => a.data)
        .sort(),
    ).toEqual(['192.0.2.1', '192.0.2.255']);

    const addrs = fn(`function(dq)
      local records = ffi.new("dnsdist_ffi_raw_value_t [1]")
      records[0].value = "\\032\\001\\013\\184" .. string.rep("\\000", 11) .. "\\001"
      records[0].size = 16
      ffi.C.dnsdist_ffi_dnsquestion_spoof_addrs(dq, records, 1)
      return DNSAction.HeaderModify
    end`);
    const dq6 = makeQuery({ name: 'addrs.test', type: 'AAAA' });
    calls.callAction(addrs, dq6, new ScriptResult());
    expect(decode(dq6.bytes()).answers.map((a) => a.data)).toEqual(['2001:db8::1']);
  });

  it('a wrong size, a wrong handle or a pointer kept past its call is an error naming the function', () => {
    const { calls, fn, rt } = setup();
    const tooLong = fn(`function(dq)
      local r = ffi.new("dnsdist_ffi_raw_value_t [1]")
      r[0].value = "ab"
      r[0].size = 10
      ffi.C.dnsdist_ffi_dnsquestion_spoof_raw(dq, r, 1)
      return DNSAction.None
    end`);
    expect(() => calls.callAction(tooLong, makeQuery(), new ScriptResult())).toThrow(
      /dnsdist_ffi_dnsquestion_spoof_raw: values\[0\]\.value: the size \(10\) is more than the 3 bytes it points at/,
    );
    expect(() => rt.runString('return require("ffi").C.dnsdist_ffi_dnsquestion_get_qtype(1)')).toThrow(
      /dnsdist_ffi_dnsquestion_get_qtype: argument #1 must be a 'dnsdist_ffi_dnsquestion_t \*'/,
    );
    const keep = fn('function(dq) kept = dq return true end');
    calls.callRule(keep, makeQuery(), undefined);
    expect(() => rt.runString('return require("ffi").C.dnsdist_ffi_dnsquestion_get_qtype(kept)')).toThrow(
      /only valid during the call that received it/,
    );
    const unsupported = fn('function(dq) ffi.C.dnsdist_ffi_dnsquestion_set_restartable(dq) return true end');
    expect(() => calls.callRule(unsupported, makeQuery(), undefined)).toThrow(ScriptCallError);
    expect(() => calls.callRule(unsupported, makeQuery(), undefined)).toThrow(
      /dnsdist_ffi_dnsquestion_set_restartable is not supported by dnsdist-ts/,
    );
  });

  it('an FFI policy gets the servers list and returns a 0-based index; the server accessors read the backends', () => {
    const { rt, calls, fn } = setup();
    const servers = [
      { name: 'a', addressText: '127.0.0.1:53', outstanding: 3, latencyUsec: 1500, isUp: () => true, config: { weight: 1, order: 1 } },
      { name: 'b', addressText: '127.0.0.2:53', outstanding: 0, latencyUsec: 0, isUp: () => false, config: { weight: 7, order: 2 } },
    ] as unknown as DownstreamServer[];
    const policy = fn(`function(list, dq)
      local C = ffi.C
      local out = ffi.new("const dnsdist_ffi_server_t *[1]")
      C.dnsdist_ffi_servers_list_get_server(list, 1, out)
      seen = { tonumber(C.dnsdist_ffi_servers_list_get_count(list)), ffi.string(C.dnsdist_ffi_server_get_name(out[0])),
        ffi.string(C.dnsdist_ffi_server_get_name_with_addr(out[0])), C.dnsdist_ffi_server_get_weight(out[0]),
        C.dnsdist_ffi_server_get_order(out[0]), C.dnsdist_ffi_server_is_up(out[0]), tonumber(C.dnsdist_ffi_server_get_outstanding(out[0])) }
      return C.dnsdist_ffi_dnsquestion_get_qtype(dq) == DNSQType.A and 1 or 0
    end`);
    expect(calls.callPolicy(policy, servers, makeQuery({ type: 'A' }))).toBe(servers[1]);
    expect(rt.runString('return table.unpack(seen)')).toEqual([2, 'b', 'b (127.0.0.2:53)', 7, 2, false, 0]);
    expect(calls.callPolicy(policy, servers, makeQuery({ type: 'MX' }))).toBe(servers[0]);
    const past = fn('function(list, dq) return 5 end');
    expect(calls.callPolicy(past, servers, makeQuery())).toBeUndefined();
  });

  it('servers_list_whashed and chashed pick by the hash they are given among the up servers; none up: the list length', () => {
    const { rt, calls, fn } = setup();
    const up = { value: true };
    const servers = [
      { name: 'a', id: 'id-a', isUp: () => up.value, config: { weight: 1 } },
      { name: 'b', id: 'id-b', isUp: () => up.value, config: { weight: 7 } },
    ] as unknown as DownstreamServer[];
    const policy = fn(`function(list, dq)
      local C = ffi.C
      seen = { tonumber(C.dnsdist_ffi_servers_list_whashed(list, dq, 0)), tonumber(C.dnsdist_ffi_servers_list_whashed(list, dq, 3)),
        tonumber(C.dnsdist_ffi_servers_list_whashed(list, dq, 8)), tonumber(C.dnsdist_ffi_servers_list_chashed(list, dq, 12345)),
        tonumber(C.dnsdist_ffi_servers_list_chashed(list, dq, 12345)) }
      return seen[4]
    end`);
    const chosen = calls.callPolicy(policy, servers, makeQuery());
    const seen = rt.runString('return table.unpack(seen)') as number[];
    expect(seen.slice(0, 3)).toEqual([0, 1, 0]);
    expect(seen[3]).toBe(seen[4]);
    expect(chosen).toBe(servers[seen[3]!]);
    up.value = false;
    calls.callPolicy(policy, servers, makeQuery());
    expect(rt.runString('return table.unpack(seen)')).toEqual([2, 2, 2, 2, 2]);
  });

  it('a response handle works with the dnsquestion getters and the dnsresponse TTL helpers', () => {
    const { rt, calls, fn } = setup();
    const action = fn(`function(dr)
      seen = { ffi.C.dnsdist_ffi_dnsquestion_get_qtype(dr) }
      ffi.C.dnsdist_ffi_dnsresponse_set_max_ttl(dr, 30)
      return DNSResponseAction.None
    end`);
    const dr = makeResponse(makeQuery({ name: 'ttl.test' }));
    const out = new ScriptResult();
    calls.callResponseAction(action, dr, out);
    expect(out.code).toBe(DNSResponseAction.None);
    expect(rt.runString('return seen[1]')).toEqual([1]);
    expect(decode(dr.packet.subarray(0, dr.length)).answers[0]!.ttl).toBe(30);
    const notResponse = fn('function(dq) ffi.C.dnsdist_ffi_dnsresponse_set_max_ttl(dq, 30) return true end');
    expect(() => calls.callRule(notResponse, makeQuery(), undefined)).toThrow(/the handle is a question, not a response/);
  });
});
