/**
 * JSON as dnsdist's json11 writes it: object keys sorted, ", " between
 * items and ": " after keys (`{"a": 1, "b": [1, 2]}`). Any JSON parser
 * reads it the same as JSON.stringify's output; matching dnsdist byte for
 * byte keeps diffs against a real dnsdist readable.
 */

/** A value the formatter accepts: plain JSON data (undefined and null both print as null). */
export type JsonValue = null | undefined | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

function compareKeys(a: string, b: string): number {
  // std::map<std::string> order: by UTF-16 code unit here, identical for the ASCII keys dnsdist uses.
  return a < b ? -1 : a > b ? 1 : 0;
}

export function formatJson11(value: JsonValue): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'string':
      return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${(value as readonly JsonValue[]).map(formatJson11).join(', ')}]`;
  const obj = value as { readonly [key: string]: JsonValue };
  const keys = Object.keys(obj).sort(compareKeys);
  return `{${keys.map((k) => `${JSON.stringify(k)}: ${formatJson11(obj[k])}`).join(', ')}}`;
}
