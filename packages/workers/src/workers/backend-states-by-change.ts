/**
 * A data-plane worker's view of the up/down states of the backends added at
 * run time (the configuration's read shared memory: shared-backend-states.ts).
 * The control plane sends its whole list by position, tagged with the id of
 * the last configuration change it had run (0: none since start-up); a worker
 * runs each change a moment after the control plane, so between the two the
 * same position can name another backend (a newServer not yet run here, an
 * rmServer run here first). A list is therefore applied only when this worker
 * has run exactly the same changes; any other is kept until then, or dropped
 * once the worker is past it (the control plane sends again for each change).
 */

/** The control plane's backend states, by position in its proxy.servers, after change `change`. */
export interface BackendStatesAfterChange {
  up: boolean[];
  change: number;
}

export class BackendStatesByChange {
  #latest: BackendStatesAfterChange;
  #ran: number;

  /** @param initial what the control plane had when it started this worker, after its last change, which the worker has replayed */
  constructor(initial: BackendStatesAfterChange) {
    this.#latest = initial;
    this.#ran = initial.change;
  }

  /** A list came from the control plane: the one to apply now, or undefined when this worker is not at its change. */
  received(states: BackendStatesAfterChange): boolean[] | undefined {
    if (states.change < this.#ran) return undefined;
    this.#latest = states;
    return states.change === this.#ran ? states.up : undefined;
  }

  /** This worker ran change `change`: the list to apply now, or undefined when the control plane's for it has not come. */
  ran(change: number): boolean[] | undefined {
    this.#ran = change;
    return this.#latest.change === change ? this.#latest.up : undefined;
  }

  /** The list for the changes this worker has run, if it has it. */
  current(): boolean[] | undefined {
    return this.#latest.change === this.#ran ? this.#latest.up : undefined;
  }
}
