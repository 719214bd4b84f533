/**
 * The same LuaFFI* functions run by Debian's dnsdist 1.7.3 (LuaJIT's real
 * FFI) and by dnsdist-ts (the `ffi` compatibility module), the same queries
 * sent to both: the answers must match. The functions put what they read
 * into the answer (a spoofed CNAME target), so a getter giving another
 * value, another order or another size shows up as a different answer.
 */
import type * as dnsPacket from 'dns-packet';
import { describeDnsdist } from '../../../../test/support/dnsdist.js';
import { encodeQuery, udpExchange } from '../support/dns-client.js';
import type { RunningProxy } from '../support/proxy-harness.js';
import { answerSummary, queryWithOptions, startSideBySide, type SideBySide } from './lua-parity-fixtures.js';

const RULES = `
local ffi = require("ffi")
local C = ffi.C

local function answer(dq, text)
  local buf = ffi.new("char[?]", #text + 1)
  ffi.copy(buf, text)
  C.dnsdist_ffi_dnsquestion_set_result(dq, buf, #text)
  return DNSAction.Spoof
end

-- hex, so that a label stays under 63 characters
local function bytes(s)
  local t = {}
  for i = 1, #s do t[#t + 1] = string.format("%02x", string.byte(s, i)) end
  return table.concat(t)
end

addAction("fields.ffiparity.", LuaFFIAction(function(dq)
  local name = ffi.new("const char *[1]")
  local size = ffi.new("size_t[1]")
  C.dnsdist_ffi_dnsquestion_get_qname_raw(dq, name, size)
  local addr = ffi.new("const void *[1]")
  local alen = ffi.new("size_t[1]")
  C.dnsdist_ffi_dnsquestion_get_remoteaddr(dq, addr, alen)
  local masked = ffi.new("const void *[1]")
  local mlen = ffi.new("size_t[1]")
  C.dnsdist_ffi_dnsquestion_get_masked_remoteaddr(dq, masked, mlen, 12)
  local sni = ffi.new("const char *[1]")
  local snilen = ffi.new("size_t[1]")
  C.dnsdist_ffi_dnsquestion_get_sni(dq, sni, snilen)
  local t = { tonumber(size[0]), bytes(ffi.string(name[0], size[0])), C.dnsdist_ffi_dnsquestion_get_qtype(dq),
    C.dnsdist_ffi_dnsquestion_get_qclass(dq), C.dnsdist_ffi_dnsquestion_get_rcode(dq), C.dnsdist_ffi_dnsquestion_get_opcode(dq),
    tostring(C.dnsdist_ffi_dnsquestion_get_tcp(dq)), tostring(C.dnsdist_ffi_dnsquestion_get_do(dq)), C.dnsdist_ffi_dnsquestion_get_len(dq),
    tostring(C.dnsdist_ffi_dnsquestion_get_skip_cache(dq)), tostring(C.dnsdist_ffi_dnsquestion_get_use_ecs(dq)),
    tostring(C.dnsdist_ffi_dnsquestion_get_ecs_override(dq)), C.dnsdist_ffi_dnsquestion_get_ecs_prefix_length(dq),
    tostring(C.dnsdist_ffi_dnsquestion_is_temp_failure_ttl_set(dq)), tonumber(alen[0]), bytes(ffi.string(addr[0], alen[0])),
    bytes(ffi.string(masked[0], mlen[0])), tonumber(snilen[0]), tostring(C.dnsdist_ffi_dnsquestion_get_tag(dq, "nope") == nil),
    tostring(C.dnsdist_ffi_dnsquestion_get_http_path(dq) == nil), tonumber(C.dnsdist_ffi_dnsquestion_get_http_headers(dq, nil)),
    C.dnsdist_ffi_dnsquestion_get_local_port(dq) > 0 and "port" or "noport" }
  return answer(dq, table.concat(t, ".") .. ".fields.")
end))
addAction("opts.ffiparity.", LuaFFIAction(function(dq)
  local out = ffi.new("const dnsdist_ffi_ednsoption_t *[1]")
  local n = tonumber(C.dnsdist_ffi_dnsquestion_get_edns_options(dq, ffi.cast("const dnsdist_ffi_ednsoption_t **", out)))
  local parts = { "n" .. n }
  for i = 0, n - 1 do
    local o = out[0][i]
    parts[#parts + 1] = "o" .. o.optionCode .. "-" .. o.len .. "-" .. bytes(ffi.string(o.data, o.len))
  end
  return answer(dq, table.concat(parts, ".") .. ".opts.")
end))
addAction("tags.ffiparity.", LuaFFIAction(function(dq)
  C.dnsdist_ffi_dnsquestion_set_tag(dq, "b", "2")
  C.dnsdist_ffi_dnsquestion_set_tag(dq, "a", "1")
  local tags = ffi.new("const dnsdist_ffi_tag_t *[1]")
  local n = tonumber(C.dnsdist_ffi_dnsquestion_get_tag_array(dq, tags))
  local seen = {}
  for i = 0, n - 1 do seen[#seen + 1] = ffi.string(tags[0][i].name) .. ffi.string(tags[0][i].value) end
  table.sort(seen)
  return answer(dq, n .. "." .. table.concat(seen, ".") .. "." .. ffi.string(C.dnsdist_ffi_dnsquestion_get_tag(dq, "a")) .. ".tags.")
end))
addAction("spoofraw.ffiparity.", LuaFFIAction(function(dq)
  local r = ffi.new("dnsdist_ffi_raw_value_t [2]")
  r[0].value = "\\192\\000\\002\\001"
  r[0].size = 4
  r[1].value = "\\192\\000\\002\\002"
  r[1].size = 4
  C.dnsdist_ffi_dnsquestion_spoof_raw(dq, r, 2)
  return DNSAction.HeaderModify
end))
addAction("spoofaddrs.ffiparity.", LuaFFIAction(function(dq)
  local r = ffi.new("dnsdist_ffi_raw_value_t [1]")
  r[0].value = "\\192\\000\\002\\009"
  r[0].size = 4
  C.dnsdist_ffi_dnsquestion_spoof_addrs(dq, r, 1)
  return DNSAction.HeaderModify
end))
addAction("rcode.ffiparity.", LuaFFIAction(function(dq)
  C.dnsdist_ffi_dnsquestion_set_rcode(dq, DNSRCode.NOTAUTH)
  return DNSAction.HeaderModify
end))
addAction("trail.ffiparity.", LuaFFIAction(function(dq)
  local out = ffi.new("const char *[1]")
  local n = tonumber(C.dnsdist_ffi_dnsquestion_get_trailing_data(dq, out))
  local before = ffi.string(out[0], n)
  local ok = C.dnsdist_ffi_dnsquestion_set_trailing_data(dq, "wxyz", 4)
  return answer(dq, n .. "-" .. before .. "-" .. tostring(ok) .. "-" .. C.dnsdist_ffi_dnsquestion_get_len(dq) .. ".trail.")
end))
addAction("pool.ffiparity.", LuaFFIAction(function(dq)
  local pool = "nowhere"
  C.dnsdist_ffi_dnsquestion_set_result(dq, pool, #pool)
  return DNSAction.Pool
end))
addAction("nothing.ffiparity.", LuaFFIAction(function(dq) end))
addAction("error.ffiparity.", LuaFFIAction(function(dq) error("boom") end))
addAction(LuaFFIRule(function(dq) return C.dnsdist_ffi_dnsquestion_get_qtype(dq) == DNSQType.TXT end), RCodeAction(DNSRCode.REFUSED))
addAction(LuaFFIPerThreadRule("return function(dq) return require('ffi').C.dnsdist_ffi_dnsquestion_get_qtype(dq) == DNSQType.MX end"),
  RCodeAction(DNSRCode.NXDOMAIN))
addAction("ttl.ffiparity.", SpoofAction("192.0.2.45"))
addSelfAnsweredResponseAction("ttl.ffiparity.", LuaFFIResponseAction(function(dr)
  return C.dnsdist_ffi_dnsquestion_get_qtype(dr) == DNSQType.A and DNSResponseAction.ServFail or DNSResponseAction.None
end))
`;

const CASES: Array<{ name: string; type?: dnsPacket.RecordType; trailing?: boolean; options?: boolean }> = [
  { name: 'fields' },
  { name: 'opts', options: true },
  { name: 'opts' },
  { name: 'tags' },
  { name: 'spoofraw' },
  { name: 'spoofaddrs' },
  { name: 'rcode' },
  { name: 'trail', trailing: true },
  { name: 'pool' },
  { name: 'nothing' },
  { name: 'error' },
  { name: 'rule', type: 'TXT' },
  { name: 'perthread', type: 'MX' },
  { name: 'ttl' },
];

describeDnsdist('LuaFFI* functions: dnsdist-ts answers as dnsdist 1.7.3 (LuaJIT FFI) does', () => {
  let sides: SideBySide;
  let dnsdistPort: number;
  let proxy: RunningProxy;

  beforeAll(async () => {
    sides = await startSideBySide(RULES);
    ({ dnsdistPort, proxy } = sides);
  });
  afterAll(async () => {
    await sides?.stop();
  });

  it.each(CASES)('$name.ffiparity $type', async ({ name, type, trailing, options }) => {
    let query = options ? queryWithOptions(`${name}.ffiparity`) : encodeQuery(`${name}.ffiparity`, { id: 4242, ...(type ? { type } : {}) });
    if (trailing) query = Buffer.concat([query, Buffer.from('abc')]);
    const theirs = answerSummary(await udpExchange(dnsdistPort, query, 3000));
    const ours = answerSummary(await udpExchange(proxy.port, query, 3000));
    expect(ours).toEqual(theirs);
    // The reading functions answer with what they read: a CNAME to it, not a failure both sides share.
    if (['fields', 'opts', 'tags', 'trail'].includes(name)) {
      const [record] = (ours as { answers: string[] }).answers;
      expect(record).toContain(' CNAME ');
      expect(record!.endsWith(`.${name}"`)).toBe(true);
    }
  });
});
