/** What happens to a query after a processing step. */
export const QueryVerdict = {
  /** Go on: next step, and eventually a backend. */
  Forward: 0,
  /** Drop it without an answer. */
  Drop: 1,
  /** `dq.packet` now holds the answer: send it back. */
  Respond: 2,
} as const;

export type QueryVerdictCode = (typeof QueryVerdict)[keyof typeof QueryVerdict];
