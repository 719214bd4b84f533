import { readFileSync } from 'node:fs';
import { freePort } from '../free-port.js';

const ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);

describe('freePort', () => {
  it('never hands out a port fetch refuses ("bad port"), drawing again instead', async () => {
    const low = 10_000;
    // The first draw lands on 10080 exactly, the next ones just above it.
    let draw = 0;
    const random = (): number => (10_080 + draw++ - low + 0.5) / (ephemeralLow - low);
    const port = await freePort('127.0.0.1', random);
    expect(port).not.toBe(10_080);
    expect(port).toBeGreaterThan(10_080);
  });
});
