/** What happens to a query after a processing step. */
export const QueryVerdict = {
  /** Go on: next step, and eventually a backend. */
  Forward: 0,
  /** Drop it without an answer. */
  Drop: 1,
  /** `dq.packet` now holds the answer: send it back. */
  Respond: 2,
  /** Go to a backend without running the rules (a NoRecurse dynamic block, as dnsdist 1.7.3 does). */
  ForwardSkippingRules: 3,
} as const;

export type QueryVerdictCode = (typeof QueryVerdict)[keyof typeof QueryVerdict];
