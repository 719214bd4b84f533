/** A monotonic clock in milliseconds; rate limiters take one so tests can drive time. */
export type MonotonicClock = () => number;

/** performance.now(), the clock DNSQuestion.receivedAt uses. */
export const performanceClock: MonotonicClock = () => performance.now();
