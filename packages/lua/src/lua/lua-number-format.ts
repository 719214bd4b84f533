/**
 * Lua's string for a number as LuaJIT (dnsdist's Lua) prints it:
 * integers without ".0", 14 significant digits otherwise, "nan"/"inf".
 */
export function formatLuaNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  if (Number.isNaN(n)) return n > 0 ? 'nan' : '-nan';
  if (!Number.isFinite(n)) return n > 0 ? 'inf' : '-inf';
  return String(Number(n.toPrecision(14)));
}
