/**
 * Crafted frames for BPF_PROG_TEST_RUN and an independent check of the
 * TC replies the program writes (checksums recomputed here from scratch).
 */
export interface FrameSpec {
  family?: 4 | 6;
  src?: string;
  dst?: string;
  vlans?: number;
  sport?: number;
  dport?: number;
  ipv4Options?: boolean;
  ipv6ExtHeader?: boolean;
  /** How many destination-options headers (default: 1 with ipv6ExtHeader). */
  ipv6ExtCount?: number;
  /** 'first' = MF set, offset 0; 'later' = offset > 0. */
  fragment?: 'first' | 'later';
  /** A later fragment's offset in 8-byte units (default 2 for IPv4, 32 for IPv6). */
  fragmentOffset?: number;
  udpChecksum?: boolean;
  tcpSyn?: boolean;
  payload?: Buffer;
  /** Cut the IP datagram after this many bytes of UDP header + payload (its length fields follow; the UDP length does not): a first fragment. */
  ipPayloadBytes?: number;
  /** Added to the UDP length field. */
  udpLengthDelta?: number;
  /** Bytes after the IP datagram (Ethernet padding). */
  trailer?: Buffer;
  /** Version nibble written into the IP header (default: the family's). */
  ipVersion?: number;
}

export function dnsQuery(name: string, qtype: number, opts: { flags?: number; qdcount?: number; extra?: Buffer } = {}): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(0xbeef, 0);
  h.writeUInt16BE(opts.flags ?? 0x0110, 2); // RD + CD
  h.writeUInt16BE(opts.qdcount ?? 1, 4);
  h.writeUInt16BE(opts.extra ? 1 : 0, 10);
  const labels = name
    .split('.')
    .filter(Boolean)
    .map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')]));
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(qtype, 0);
  tail.writeUInt16BE(1, 2);
  return Buffer.concat([h, ...labels, Buffer.from([0]), tail, opts.extra ?? Buffer.alloc(0)]);
}

/** An EDNS OPT record, to check the reply drops it. */
export const OPT_RR = Buffer.from('0000291000000000000000', 'hex');

function v4(a: string): Buffer {
  return Buffer.from(a.split('.').map(Number));
}

function v6(a: string): Buffer {
  const [head, tail] = a.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}

export function checksum(buf: Buffer, sum = 0): number {
  for (let i = 0; i + 1 < buf.length; i += 2) sum += buf.readUInt16BE(i);
  if (buf.length % 2) sum += buf[buf.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function pseudoSum(src: Buffer, dst: Buffer, proto: number, len: number): number {
  let s = 0;
  for (const b of [src, dst]) for (let i = 0; i < b.length; i += 2) s += b.readUInt16BE(i);
  return s + proto + len;
}

export function frame(spec: FrameSpec): Buffer {
  const family = spec.family ?? 4;
  const src = family === 4 ? v4(spec.src ?? '198.51.100.1') : v6(spec.src ?? '2001:db8::1');
  const dst = family === 4 ? v4(spec.dst ?? '192.0.2.53') : v6(spec.dst ?? '2001:db8::53');
  const payload = spec.payload ?? dnsQuery('www.example.com', 1);
  let l4: Buffer;
  if (spec.tcpSyn) {
    l4 = Buffer.alloc(20);
    l4.writeUInt16BE(spec.sport ?? 40000, 0);
    l4.writeUInt16BE(spec.dport ?? 53, 2);
    l4[12] = 5 << 4;
    l4[13] = 0x02;
  } else {
    const udp = Buffer.alloc(8);
    udp.writeUInt16BE(spec.sport ?? 40000, 0);
    udp.writeUInt16BE(spec.dport ?? 53, 2);
    udp.writeUInt16BE(8 + payload.length, 4);
    l4 = Buffer.concat([udp, payload]);
    if (spec.udpChecksum !== false || family === 6) {
      const c = checksum(l4, pseudoSum(src, dst, 17, l4.length));
      l4.writeUInt16BE(c === 0 ? 0xffff : c, 6);
    }
    if (spec.udpLengthDelta) l4.writeUInt16BE(8 + payload.length + spec.udpLengthDelta, 4);
    if (spec.ipPayloadBytes !== undefined) l4 = l4.subarray(0, spec.ipPayloadBytes);
  }
  const proto = spec.tcpSyn ? 6 : 17;
  let l3: Buffer;
  if (family === 4) {
    const opts = spec.ipv4Options ? Buffer.from([1, 1, 1, 0]) : Buffer.alloc(0);
    l3 = Buffer.alloc(20 + opts.length);
    l3[0] = ((spec.ipVersion ?? 4) << 4) | ((20 + opts.length) / 4);
    l3.writeUInt16BE(l3.length + l4.length, 2);
    if (spec.fragment === 'first') l3.writeUInt16BE(0x2000, 6);
    if (spec.fragment === 'later') l3.writeUInt16BE(spec.fragmentOffset ?? 2, 6);
    l3[8] = 64;
    l3[9] = proto;
    src.copy(l3, 12);
    dst.copy(l3, 16);
    opts.copy(l3, 20);
    l3.writeUInt16BE(checksum(l3), 10);
  } else {
    const ext: Buffer[] = [];
    let next = proto;
    if (spec.fragment) {
      const f = Buffer.alloc(8);
      f[0] = next;
      f.writeUInt16BE(spec.fragment === 'first' ? 1 : (spec.fragmentOffset ?? 32) << 3, 2);
      ext.unshift(f);
      next = 44;
    }
    for (let i = 0; i < (spec.ipv6ExtCount ?? (spec.ipv6ExtHeader ? 1 : 0)); i++) {
      const d = Buffer.alloc(8);
      d[0] = next;
      d[2] = 1; // PadN
      d[3] = 4;
      ext.unshift(d);
      next = 60;
    }
    const extBuf = Buffer.concat(ext);
    l3 = Buffer.alloc(40);
    l3[0] = (spec.ipVersion ?? 6) << 4;
    l3.writeUInt16BE(extBuf.length + l4.length, 4);
    l3[6] = next;
    l3[7] = 64;
    src.copy(l3, 8);
    dst.copy(l3, 24);
    l3 = Buffer.concat([l3, extBuf]);
  }
  const eth = Buffer.alloc(12);
  eth.set([0x02, 0, 0, 0, 0, 0x53, 0x02, 0, 0, 0, 0, 0x01]);
  const tags: Buffer[] = [];
  for (let i = 0; i < (spec.vlans ?? 0); i++) {
    const t = Buffer.alloc(4);
    t.writeUInt16BE(i === 0 && (spec.vlans ?? 0) > 1 ? 0x88a8 : 0x8100, 0);
    t.writeUInt16BE(100 + i, 2);
    tags.push(t);
  }
  const type = Buffer.alloc(2);
  type.writeUInt16BE(family === 4 ? 0x0800 : 0x86dd);
  return Buffer.concat([eth, ...tags, type, l3, l4, spec.trailer ?? Buffer.alloc(0)]);
}

export interface DecodedReply {
  srcMac: string;
  dstMac: string;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  dns: Buffer;
  ipChecksumOk: boolean;
  udpChecksum: number;
  udpChecksumOk: boolean;
  ttl: number;
}

/** Decode an Ethernet/IPv4|IPv6/UDP reply and verify its checksums independently. */
export function decodeReply(f: Buffer, vlans = 0): DecodedReply {
  const l3 = 14 + 4 * vlans;
  const family = f[l3]! >> 4;
  const mac = (o: number) => f.subarray(o, o + 6).toString('hex');
  if (family === 4) {
    const ihl = (f[l3]! & 15) * 4;
    const ip = f.subarray(l3, l3 + ihl);
    const totLen = ip.readUInt16BE(2);
    const udp = f.subarray(l3 + ihl, l3 + totLen);
    const src = ip.subarray(12, 16);
    const dst = ip.subarray(16, 20);
    const udpCk = udp.readUInt16BE(6);
    const ok = udpCk === 0 || checksum(udp, pseudoSum(src, dst, 17, udp.length)) === 0;
    return {
      srcMac: mac(6),
      dstMac: mac(0),
      src: [...src].join('.'),
      dst: [...dst].join('.'),
      sport: udp.readUInt16BE(0),
      dport: udp.readUInt16BE(2),
      dns: udp.subarray(8),
      ipChecksumOk: checksum(ip) === 0 && l3 + totLen === f.length,
      udpChecksum: udpCk,
      udpChecksumOk: ok && udp.readUInt16BE(4) === udp.length,
      ttl: ip[8]!,
    };
  }
  const ip = f.subarray(l3, l3 + 40);
  const udp = f.subarray(l3 + 40, l3 + 40 + ip.readUInt16BE(4));
  const src = ip.subarray(8, 24);
  const dst = ip.subarray(24, 40);
  const udpCk = udp.readUInt16BE(6);
  return {
    srcMac: mac(6),
    dstMac: mac(0),
    src: src.toString('hex'),
    dst: dst.toString('hex'),
    sport: udp.readUInt16BE(0),
    dport: udp.readUInt16BE(2),
    dns: udp.subarray(8),
    ipChecksumOk: l3 + 40 + udp.length === f.length,
    udpChecksum: udpCk,
    udpChecksumOk: udpCk !== 0 && checksum(udp, pseudoSum(src, dst, 17, udp.length)) === 0 && udp.readUInt16BE(4) === udp.length,
    ttl: ip[7]!,
  };
}
