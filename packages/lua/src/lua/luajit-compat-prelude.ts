/**
 * dnsdist embeds LuaJIT (Lua 5.1 plus the `bit` library); fengari is Lua
 * 5.3 with 32-bit integers. Configurations written for dnsdist use 5.1
 * globals (`unpack`, `loadstring`, `table.getn`, `math.pow`) and `bit.*`;
 * this prelude provides them with LuaJIT's results (bit operations return
 * signed 32-bit numbers, as in LuaJIT).
 */
export const LUAJIT_COMPAT_PRELUDE = String.raw`
unpack = unpack or table.unpack
loadstring = loadstring or load
table.getn = table.getn or function(t) return #t end
table.maxn = table.maxn or function(t)
  local m = 0
  for k in pairs(t) do if type(k) == "number" and k > m then m = k end end
  return m
end
math.pow = math.pow or function(a, b) return a ^ b end
math.mod = math.mod or math.fmod
math.log10 = math.log10 or function(x) return math.log(x, 10) end
string.gfind = string.gfind or string.gmatch

local TWO32 = 4294967296
local TWO31 = 2147483648

local function tobit(x)
  x = tonumber(x)
  if x == nil then error("bad argument to bit operation (number expected)", 3) end
  x = math.floor(x) % TWO32
  if x >= TWO31 then x = x - TWO32 end
  return math.tointeger(x) or x
end

local function fold(op, ...)
  local args = { ... }
  local r = tobit(args[1])
  for i = 2, #args do r = op(r, tobit(args[i])) end
  return r
end

local function shiftcount(n) return tobit(n) & 31 end

local function lshift(x, n) return tobit(tobit(x) << shiftcount(n)) end
local function rshift(x, n)
  x = tobit(x)
  n = shiftcount(n)
  if n == 0 then return x end
  if x < 0 then x = x + TWO32 end
  return tobit(math.floor(x / (2 ^ n)))
end
local function arshift(x, n)
  x = tobit(x)
  n = shiftcount(n)
  return tobit(math.floor(x / (2 ^ n)))
end

bit = bit or {
  tobit = tobit,
  band = function(...) return fold(function(a, b) return a & b end, ...) end,
  bor = function(...) return fold(function(a, b) return a | b end, ...) end,
  bxor = function(...) return fold(function(a, b) return a ~ b end, ...) end,
  bnot = function(x) return tobit(~tobit(x)) end,
  lshift = lshift,
  rshift = rshift,
  arshift = arshift,
  rol = function(x, n)
    n = shiftcount(n)
    if n == 0 then return tobit(x) end
    return tobit(lshift(x, n) | rshift(x, 32 - n))
  end,
  ror = function(x, n)
    n = shiftcount(n)
    if n == 0 then return tobit(x) end
    return tobit(rshift(x, n) | lshift(x, 32 - n))
  end,
  bswap = function(x)
    x = tobit(x)
    local b0, b1, b2, b3 = rshift(x, 24) & 255, rshift(x, 16) & 255, rshift(x, 8) & 255, x & 255
    return tobit(lshift(b3, 24) | lshift(b2, 16) | lshift(b1, 8) | b0)
  end,
  tohex = function(x, n)
    n = n or 8
    local upper = n < 0
    if upper then n = -n end
    x = tobit(x)
    if x < 0 then x = x + TWO32 end
    local digits = upper and "0123456789ABCDEF" or "0123456789abcdef"
    local out = ""
    for _ = 1, n do
      local d = math.floor(x % 16)
      out = digits:sub(d + 1, d + 1) .. out
      x = math.floor(x / 16)
    end
    return out
  end,
}
`;
