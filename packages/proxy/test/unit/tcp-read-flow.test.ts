import { READ_AHEAD_BYTES, tcpReadShouldPause } from '@dnsdist-ts/dataplane/server/tcp-read-flow.js';

describe('when a client TCP connection stops being read', () => {
  it('goes on reading a pipelining client while its one query in flight is answered, up to the read-ahead', () => {
    expect(tcpReadShouldPause(false, false, 1, 1, 0)).toBe(false);
    expect(tcpReadShouldPause(false, false, 1, 1, READ_AHEAD_BYTES - 1)).toBe(false);
    expect(tcpReadShouldPause(false, false, 1, 1, READ_AHEAD_BYTES)).toBe(true);
  });

  it('reads on below the in-flight limit whatever is buffered (the queries go to the query path at once)', () => {
    expect(tcpReadShouldPause(false, false, 3, 10, 10 * READ_AHEAD_BYTES)).toBe(false);
  });

  it('stops while the client leaves its answers unread, or a zone transfer runs, even with nothing buffered', () => {
    expect(tcpReadShouldPause(false, true, 0, 1, 0)).toBe(true);
    expect(tcpReadShouldPause(true, false, 1, 1, 0)).toBe(true);
  });

  it('holds at most one largest query and its length prefix ahead', () => {
    expect(READ_AHEAD_BYTES).toBe(65_535 + 2);
  });
});
