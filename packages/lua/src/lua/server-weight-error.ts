/**
 * A newServer weight outside 1..2147483647. dnsdist 1.7.3 does not stop on
 * it: it logs one of two lines, creates no server and the configuration
 * goes on (`--check-config` still says OK). The message is dnsdist's line.
 */
export class ServerWeightError extends Error {
  /** The weight as given. */
  readonly weight: number;
  constructor(weight: number) {
    super(
      weight < 1
        ? 'Error creating new server: downstream weight value must be greater than 0.'
        : `Error creating new server: downstream weight value must be between 1 and ${SERVER_WEIGHT_MAX}`,
    );
    this.name = 'ServerWeightError';
    this.weight = weight;
  }
}

/** The largest weight dnsdist takes (a C int). */
export const SERVER_WEIGHT_MAX = 2147483647;
