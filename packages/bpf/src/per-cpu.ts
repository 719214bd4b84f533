/** The kernel lays per-CPU values out at 8-byte strides. */
export function perCpuValueStride(valueSize: number): number {
  return (valueSize + 7) & ~7;
}

/**
 * Sum a u64 at `offset` across the per-CPU values of one entry, as counters
 * kept per CPU are read. Accepts the split form (one Buffer per CPU) or the
 * packed form a lookup returns (with the value size to stride by).
 */
export function sumPerCpuU64(values: Buffer[] | Buffer, offset = 0, valueSize = 8): bigint {
  let sum = 0n;
  if (Array.isArray(values)) {
    for (const v of values) sum += v.readBigUInt64LE(offset);
    return sum;
  }
  const stride = perCpuValueStride(valueSize);
  for (let off = 0; off + offset + 8 <= values.length; off += stride) sum += values.readBigUInt64LE(off + offset);
  return sum;
}
