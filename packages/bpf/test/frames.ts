/** Crafted Ethernet/IPv4/UDP frames for BPF_PROG_TEST_RUN. */

function ipv4Checksum(h: Buffer): number {
  let sum = 0;
  for (let i = 0; i < h.length; i += 2) sum += h.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function ipv4Bytes(addr: string): number[] {
  return addr.split('.').map(Number);
}

/** An Ethernet frame carrying an IPv4 UDP datagram. */
export function udp4Frame(src: string, dst: string, sport: number, dport: number, payload = Buffer.from('hello')): Buffer {
  const eth = Buffer.alloc(14);
  eth.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]);
  eth.writeUInt16BE(0x0800, 12);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + 8 + payload.length, 2);
  ip[8] = 64;
  ip[9] = 17;
  ip.set(ipv4Bytes(src), 12);
  ip.set(ipv4Bytes(dst), 16);
  ip.writeUInt16BE(ipv4Checksum(ip), 10);
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(sport, 0);
  udp.writeUInt16BE(dport, 2);
  udp.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([eth, ip, udp, payload]);
}

/** An ARP-like non-IP frame. */
export function nonIpFrame(): Buffer {
  const f = Buffer.alloc(60);
  f.writeUInt16BE(0x0806, 12);
  return f;
}
